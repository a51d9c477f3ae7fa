import TensorCore

/// Hyperbolic tangent, y = tanh(x) (PyTorch Tanh). forward: any shape → same shape
public final class Tanh: Layer {
    public let kind = "Tanh"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        output.reshape(input.shape)
        let x = input.pointer, y = output.pointer
        forEachElement(input.count) { i in y[i] = FloatMath.tanh(x[i]) }
        return output
    }

    /// dx = dy·(1 − y²).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(output.shape)
        guard needsInputGradient else { return gradInput }
        let y = output.pointer, dy = gradOutput.pointer, dx = gradInput.pointer
        forEachElement(output.count) { i in dx[i] = dy[i] * (1 - y[i] * y[i]) }
        return gradInput
    }
}
