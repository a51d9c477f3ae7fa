import TensorCore

/// Rectified linear unit, y = max(x, 0). forward: any shape → same shape
public final class ReLU: Layer {
    public let kind = "ReLU"
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    /// What the last forward returned: `output`, or the input itself when in place.
    private var result: Tensor?

    /// Overwrite the input in forward and the output gradient in backward (PyTorch's
    /// inplace=True), keeping no buffers of its own. `Sequential` turns it on where that is
    /// safe: after a layer whose backward does not read its own output, and not as the
    /// chain's last layer (whose output gradient may also feed a residual shortcut).
    public internal(set) var inPlace = false

    /// Returns its input and its output gradient unchanged: the BatchNorm2d before it in a
    /// chain applies it (`BatchNorm2d.appliesReLU`, set with this by `Sequential`).
    public internal(set) var passesThrough = false

    public var inputGradientBuffer: InputGradientBuffer {
        passesThrough ? .passThrough : inPlace ? .incoming : .own(gradInput)
    }

    public init() {}

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    /// torchvision builds its ReLUs with inplace=True.
    public var allocatesOutput: Bool { false }

    public func forward(_ input: Tensor) -> Tensor {
        if passesThrough {
            result = input
            return input
        }
        let y = inPlace ? input : output
        y.reshape(input.shape)
        Elementwise.relu(input.pointer, y.pointer, count: input.count)
        result = y
        return y
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let result else { preconditionFailure("ReLU.backward before forward") }
        if passesThrough { return gradOutput }
        let dx = inPlace ? gradOutput : gradInput
        dx.reshape(result.shape)
        Elementwise.reluBackward(output: result.pointer, gradOutput: gradOutput.pointer, gradInput: dx.pointer,
                                 count: result.count)
        return dx
    }
}
