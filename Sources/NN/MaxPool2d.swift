import TensorCore

/// Max pooling (PyTorch MaxPool2d; stride defaults to the kernel size; padding counts as −∞).
/// forward: [N, C, H, W] → [N, C, oH, oW]
public final class MaxPool2d: Layer {
    public let kind = "MaxPool2d"
    public let kernelSize: Size2D
    public let stride: Size2D
    public let padding: Size2D
    public let ceilMode: Bool
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var argmax = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var argmaxCapacity = 1
    private var geometry: PoolingGeometry?

    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
    }

    deinit { argmax.deallocate() }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let g = try makePoolingGeometry(kind: kind, shape: inputShape, kernelSize: kernelSize, stride: stride,
                                        padding: padding, ceilMode: ceilMode)
        return [g.batch, g.channels, g.outHeight, g.outWidth]
    }

    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? { (kernelSize, stride) }

    public func forward(_ input: Tensor) -> Tensor {
        let g: PoolingGeometry
        do {
            g = try makePoolingGeometry(kind: kind, shape: input.shape, kernelSize: kernelSize, stride: stride,
                                        padding: padding, ceilMode: ceilMode)
        } catch { preconditionFailure("\(error)") }
        geometry = g
        let outCount = g.batch * g.channels * g.outHeight * g.outWidth
        if outCount > argmaxCapacity {
            argmax.deallocate()
            argmax = .allocate(capacity: outCount)
            argmaxCapacity = outCount
        }
        output.reshape(g.batch, g.channels, g.outHeight, g.outWidth)
        Pooling.maxForward(g, input: input.pointer, output: output.pointer, argmax: argmax)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("MaxPool2d.backward before forward") }
        gradInput.reshape(g.batch, g.channels, g.inHeight, g.inWidth)
        if needsInputGradient {
            Pooling.maxBackward(g, gradOutput: gradOutput.pointer, argmax: argmax, gradInput: gradInput.pointer)
        }
        return gradInput
    }
}
