import TensorCore

/// Adaptive average pooling (PyTorch AdaptiveAvgPool2d): output cell i averages input rows
/// ⌊i·H/oH⌋ ..< ⌈(i+1)·H/oH⌉, and likewise for columns; bins may overlap.
/// forward: [N, C, H, W] → [N, C, oH, oW]
public final class AdaptiveAvgPool2d: Layer {
    public let kind = "AdaptiveAvgPool2d"
    public let outputSize: Size2D
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var inputShape: [Int] = []

    public init(outputSize: Size2D) {
        precondition(outputSize.height > 0 && outputSize.width > 0,
                     "AdaptiveAvgPool2d: output size must be positive, got \(outputSize)")
        self.outputSize = outputSize
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a 4-D input [N, C, H, W], got \(inputShape)")
        }
        guard inputShape[2] > 0 && inputShape[3] > 0 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a non-empty input map, got \(inputShape)")
        }
        return [inputShape[0], inputShape[1], outputSize.height, outputSize.width]
    }

    /// Exact for global pooling (1x1 output: the window is the whole map). Otherwise bins vary
    /// in size, so summaries get an approximation: extent ⌈H/oH⌉ and stride ⌊H/oH⌋ (at least 1),
    /// which is exact whenever oH divides H.
    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? {
        guard inputShape.count == 4 else { return nil }
        let height = inputShape[2], width = inputShape[3]
        if outputSize == Size2D(1) { return (Size2D(height, width), Size2D(height, width)) }
        let extent = Size2D((height + outputSize.height - 1) / outputSize.height,
                            (width + outputSize.width - 1) / outputSize.width)
        let stride = Size2D(Swift.max(1, height / outputSize.height), Swift.max(1, width / outputSize.width))
        return (extent, stride)
    }

    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4 && input.shape[2] > 0 && input.shape[3] > 0, "AdaptiveAvgPool2d got \(input.shape)")
        inputShape = input.shape
        let planes = input.shape[0] * input.shape[1], height = input.shape[2], width = input.shape[3]
        let outHeight = outputSize.height, outWidth = outputSize.width
        output.reshape(input.shape[0], input.shape[1], outHeight, outWidth)
        Parallel.forEachRange(planes, AdaptiveAverage(x: input.pointer, y: output.pointer, height: height, width: width,
                                                      outHeight: outHeight, outWidth: outWidth))
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(inputShape)
        guard needsInputGradient else { return gradInput }
        let planes = inputShape[0] * inputShape[1], height = inputShape[2], width = inputShape[3]
        let outHeight = outputSize.height, outWidth = outputSize.width
        Parallel.forEachRange(planes, AdaptiveAverageBackward(dy: gradOutput.pointer, dx: gradInput.pointer,
                                                              height: height, width: width,
                                                              outHeight: outHeight, outWidth: outWidth))
        return gradInput
    }
}

/// Per plane: each output cell is the mean of its bin.
private struct AdaptiveAverage: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    let height: Int, width: Int, outHeight: Int, outWidth: Int

    func run(_ range: Range<Int>) {
        for plane in range {
            let source = x + plane * height * width, target = y + plane * outHeight * outWidth
            for i in 0..<outHeight {
                let rows = binStart(i, height, outHeight)..<binEnd(i, height, outHeight)
                for j in 0..<outWidth {
                    let columns = binStart(j, width, outWidth)..<binEnd(j, width, outWidth)
                    var sum: Float = 0
                    for r in rows { for c in columns { sum += source[r * width + c] } }
                    target[i * outWidth + j] = sum / Float(rows.count * columns.count)
                }
            }
        }
    }
}

/// Per plane: each output gradient spread evenly over its bin (overlapping bins add up).
private struct AdaptiveAverageBackward: ParallelBody {
    let dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
    let height: Int, width: Int, outHeight: Int, outWidth: Int

    func run(_ range: Range<Int>) {
        for plane in range {
            let source = dy + plane * outHeight * outWidth, target = dx + plane * height * width
            target.update(repeating: 0, count: height * width)
            for i in 0..<outHeight {
                let rows = binStart(i, height, outHeight)..<binEnd(i, height, outHeight)
                for j in 0..<outWidth {
                    let columns = binStart(j, width, outWidth)..<binEnd(j, width, outWidth)
                    let share = source[i * outWidth + j] / Float(rows.count * columns.count)
                    for r in rows { for c in columns { target[r * width + c] += share } }
                }
            }
        }
    }
}

/// First input index of adaptive bin `i` of `outputs` over `inputs`: ⌊i·inputs/outputs⌋.
@inline(__always) private func binStart(_ i: Int, _ inputs: Int, _ outputs: Int) -> Int { i * inputs / outputs }

/// One past the last input index of adaptive bin `i`: ⌈(i+1)·inputs/outputs⌉.
@inline(__always) private func binEnd(_ i: Int, _ inputs: Int, _ outputs: Int) -> Int {
    ((i + 1) * inputs + outputs - 1) / outputs
}
