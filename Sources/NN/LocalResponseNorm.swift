import TensorCore

/// Local response normalisation across channels (PyTorch LocalResponseNorm, AlexNet):
/// y_c = x_c · s_c^(−β), s_c = k + (α/size)·Σ x_j² over j from c − ⌊size/2⌋ to c + ⌊(size−1)/2⌋
/// (channels outside the tensor count as 0, and the sum is always divided by `size`).
/// forward: [N, C, *] → [N, C, *]
public final class LocalResponseNorm: Layer {
    public let kind = "LocalResponseNorm"
    public let size: Int
    public let alpha: Float
    public let beta: Float
    public let k: Float
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?
    /// s for every element, from forward.
    private let scale = Tensor(shape: [0])
    /// dy·x·s^(−β−1) = dy·y/s, the backward pass's per-element term summed over windows.
    private let weightedGradient = Tensor(shape: [0])

    public init(size: Int, alpha: Float = 1e-4, beta: Float = 0.75, k: Float = 1.0) {
        precondition(size > 0, "LocalResponseNorm: size must be positive, got \(size)")
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= 3 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects an input [N, C, H, W] (3 dimensions or more), got \(inputShape)")
        }
        return inputShape
    }

    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.rank >= 3, "LocalResponseNorm got \(input.shape)")
        self.input = input
        output.reshape(input.shape)
        scale.reshape(input.shape)
        let channels = input.shape[1], inner = input.shape.dropFirst(2).reduce(1, *)
        let x = input.pointer, y = output.pointer, s = scale.pointer
        let before = size / 2, after = (size - 1) / 2, coefficient = alpha / Float(size), k = k, beta = beta
        Parallel.forEachRange(input.shape[0] * channels, LRNForward(
            x: x, y: y, s: s, channels: channels, inner: inner, before: before, after: after,
            coefficient: coefficient, k: k, beta: beta))
        return output
    }

    /// dx_c = dy_c·s_c^(−β) − (2αβ/size)·x_c·Σ_j dy_j·y_j/s_j over the channels j whose window holds c
    /// (j from c − ⌊(size−1)/2⌋ to c + ⌊size/2⌋).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("LocalResponseNorm.backward before forward") }
        gradInput.reshape(input.shape)
        guard needsInputGradient else { return gradInput }
        weightedGradient.reshape(input.shape)
        let planes = input.shape[0] * input.shape[1], channels = input.shape[1]
        let inner = input.shape.dropFirst(2).reduce(1, *)
        let x = input.pointer, y = output.pointer, s = scale.pointer, dy = gradOutput.pointer
        let t = weightedGradient.pointer, dx = gradInput.pointer
        Parallel.forEachRange(planes * inner, minimumChunk: 1 << 14, LRNWeightedGradient(dy: dy, y: y, s: s, t: t))
        let before = (size - 1) / 2, after = size / 2, coefficient = 2 * alpha * beta / Float(size), beta = beta
        Parallel.forEachRange(planes, LRNBackward(
            x: x, s: s, dy: dy, t: t, dx: dx, channels: channels, inner: inner, before: before, after: after,
            coefficient: coefficient, beta: beta))
        return gradInput
    }
}

/// Per plane: s = k + α/size·Σ x² over the channel window, y = x·s^(−β).
private struct LRNForward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>
    let channels: Int, inner: Int, before: Int, after: Int
    let coefficient: Float, k: Float, beta: Float

    func run(_ range: Range<Int>) {
        for plane in range {
            let c = plane % channels, sample = plane - c
            let sPlane = s + plane * inner
            sPlane.update(repeating: k, count: inner)
            for j in Swift.max(0, c - before)...Swift.min(channels - 1, c + after) {
                let neighbour = x + (sample + j) * inner
                for i in 0..<inner { sPlane[i] += coefficient * neighbour[i] * neighbour[i] }
            }
            let xPlane = x + plane * inner, yPlane = y + plane * inner
            for i in 0..<inner { yPlane[i] = xPlane[i] * FloatMath.pow(sPlane[i], -beta) }
        }
    }
}

/// t = dy·y/s, element-wise.
private struct LRNWeightedGradient: ParallelBody {
    let dy: UnsafePointer<Float>, y: UnsafePointer<Float>, s: UnsafePointer<Float>, t: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) { for i in range { t[i] = dy[i] * y[i] / s[i] } }
}

/// Per plane: dx = dy·s^(−β) − (2αβ/size)·x·Σ t over the channels whose window holds this one.
private struct LRNBackward: ParallelBody {
    let x: UnsafePointer<Float>, s: UnsafePointer<Float>, dy: UnsafePointer<Float>, t: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>
    let channels: Int, inner: Int, before: Int, after: Int
    let coefficient: Float, beta: Float

    func run(_ range: Range<Int>) {
        for plane in range {
            let c = plane % channels, sample = plane - c
            let xPlane = x + plane * inner, sPlane = s + plane * inner
            let dyPlane = dy + plane * inner, dxPlane = dx + plane * inner
            for i in 0..<inner { dxPlane[i] = dyPlane[i] * FloatMath.pow(sPlane[i], -beta) }
            for j in Swift.max(0, c - before)...Swift.min(channels - 1, c + after) {
                let neighbour = t + (sample + j) * inner
                for i in 0..<inner { dxPlane[i] -= coefficient * xPlane[i] * neighbour[i] }
            }
        }
    }
}
