import TensorCore

/// Logistic sigmoid, y = 1/(1 + e⁻ˣ) (PyTorch Sigmoid). forward: any shape → same shape
public final class Sigmoid: Layer {
    public let kind = "Sigmoid"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        output.reshape(input.shape)
        let x = input.pointer, y = output.pointer
        forEachElement(input.count) { i in y[i] = 1 / (1 + FloatMath.exp(-x[i])) }
        return output
    }

    /// dx = dy·y·(1 − y).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(output.shape)
        guard needsInputGradient else { return gradInput }
        let y = output.pointer, dy = gradOutput.pointer, dx = gradInput.pointer
        forEachElement(output.count) { i in dx[i] = dy[i] * y[i] * (1 - y[i]) }
        return gradInput
    }
}
