import TensorCore

/// Exponential linear unit, y = x for x > 0, else alpha·(eˣ − 1) (PyTorch ELU).
/// forward: any shape → same shape
public final class ELU: Layer {
    public let kind = "ELU"
    public let alpha: Float
    public var isTraining = true
    public var needsInputGradient = true
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?

    public init(alpha: Float = 1.0) {
        self.alpha = alpha
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    /// In-place-able in PyTorch (inplace=True).
    public var allocatesOutput: Bool { false }

    public func forward(_ input: Tensor) -> Tensor {
        self.input = input
        output.reshape(input.shape)
        let x = input.pointer, y = output.pointer, alpha = alpha
        forEachElement(input.count, ELUForward(x: x, y: y, alpha: alpha))
        return output
    }

    /// dx = dy where x > 0, else dy·alpha·eˣ = dy·(y + alpha).
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("ELU.backward before forward") }
        gradInput.reshape(input.shape)
        guard needsInputGradient else { return gradInput }
        let x = input.pointer, y = output.pointer, dy = gradOutput.pointer, dx = gradInput.pointer, alpha = alpha
        forEachElement(input.count, ELUBackward(x: x, y: y, dy: dy, dx: dx, alpha: alpha))
        return gradInput
    }
}

private struct ELUForward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, alpha: Float
    func run(_ range: Range<Int>) { for i in range { y[i] = x[i] > 0 ? x[i] : alpha * (FloatMath.exp(x[i]) - 1) } }
}

private struct ELUBackward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
    let alpha: Float
    func run(_ range: Range<Int>) { for i in range { dx[i] = x[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha) } }
}
