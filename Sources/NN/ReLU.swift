import TensorCore

/// Rectified linear unit, y = max(x, 0). forward: any shape → same shape
public final class ReLU: Layer {
    public let kind = "ReLU"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    /// torchvision builds its ReLUs with inplace=True.
    public var allocatesOutput: Bool { false }

    public func forward(_ input: Tensor) -> Tensor {
        output.reshape(input.shape)
        Elementwise.relu(input.pointer, output.pointer, count: input.count)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(output.shape)
        Elementwise.reluBackward(output: output.pointer, gradOutput: gradOutput.pointer,
                                 gradInput: gradInput.pointer, count: output.count)
        return gradInput
    }
}
