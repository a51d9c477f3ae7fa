import TensorCore

/// Hyperbolic tangent, y = tanh(x) (PyTorch Tanh). forward: any shape → same shape
public final class Tanh: Layer {
    public let kind = "Tanh"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        output.reshape(input.shape)
        let x = input.pointer, y = output.pointer
        forEachElement(input.count, TanhForward(x: x, y: y))
        return output
    }

    /// dx = dy·(1 − y²).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(output.shape)
        guard needsInputGradient else { return gradInput }
        let y = output.pointer, dy = gradOutput.pointer, dx = gradInput.pointer
        forEachElement(output.count, TanhBackward(y: y, dy: dy, dx: dx))
        return gradInput
    }
}

private struct TanhForward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) { for i in range { y[i] = FloatMath.tanh(x[i]) } }
}

private struct TanhBackward: ParallelBody {
    let y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
    func run(_ range: Range<Int>) { for i in range { dx[i] = dy[i] * (1 - y[i] * y[i]) } }
}
