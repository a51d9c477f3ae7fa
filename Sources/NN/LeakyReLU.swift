import TensorCore

/// Leaky rectified linear unit, y = x for x > 0, else negativeSlope·x (PyTorch LeakyReLU).
/// forward: any shape → same shape
public final class LeakyReLU: Layer {
    public let kind = "LeakyReLU"
    public let negativeSlope: Float
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?

    public init(negativeSlope: Float = 0.01) {
        self.negativeSlope = negativeSlope
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    /// In-place-able in PyTorch (inplace=True).
    public var allocatesOutput: Bool { false }

    public func forward(_ input: Tensor) -> Tensor {
        self.input = input
        output.reshape(input.shape)
        let x = input.pointer, y = output.pointer, slope = negativeSlope
        forEachElement(input.count, LeakyReLUForward(x: x, y: y, slope: slope))
        return output
    }

    /// dx = dy where x > 0, else negativeSlope·dy.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("LeakyReLU.backward before forward") }
        gradInput.reshape(input.shape)
        guard needsInputGradient else { return gradInput }
        let x = input.pointer, dy = gradOutput.pointer, dx = gradInput.pointer, slope = negativeSlope
        forEachElement(input.count, LeakyReLUBackward(x: x, dy: dy, dx: dx, slope: slope))
        return gradInput
    }
}

private struct LeakyReLUForward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, slope: Float
    func run(_ range: Range<Int>) { for i in range { y[i] = x[i] > 0 ? x[i] : x[i] * slope } }
}

private struct LeakyReLUBackward: ParallelBody {
    let x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, slope: Float
    func run(_ range: Range<Int>) { for i in range { dx[i] = x[i] > 0 ? dy[i] : dy[i] * slope } }
}
