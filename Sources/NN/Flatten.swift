import TensorCore

/// Flattens every dimension after the batch. forward: [N, C, H, W] → [N, C·H·W]
public final class Flatten: Layer {
    public let kind = "Flatten"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var inputShape: [Int] = []

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard let batch = inputShape.first else {
            throw NNError.shapeMismatch(layer: kind, message: "expects an input with a batch dimension")
        }
        return [batch, inputShape.dropFirst().reduce(1, *)]
    }

    // Tensors own their storage, so flattening copies; it runs once per step on small tensors.
    /// A view in PyTorch.
    public var allocatesOutput: Bool { false }

    public func forward(_ input: Tensor) -> Tensor {
        inputShape = input.shape
        output.reshape(input.shape[0], input.count / Swift.max(1, input.shape[0]))
        output.pointer.update(from: input.pointer, count: input.count)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(inputShape)
        if needsInputGradient { gradInput.pointer.update(from: gradOutput.pointer, count: gradOutput.count) }
        return gradInput
    }
}
