import TensorCore

/// Maxout (Goodfellow et al. 2013): the maximum over each group of `pieces` consecutive channels.
/// forward: [N, C·k, H, W] → [N, C, H, W], or [N, C·k] → [N, C]
public final class Maxout: Layer {
    public let kind = "Maxout"
    public let pieces: Int
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    /// The winning piece (0..<pieces) of every output element, stored as Float (exact).
    private let winners = Tensor(shape: [0])
    private var inputShape: [Int] = []

    public init(pieces: Int) {
        precondition(pieces > 0, "Maxout: pieces must be positive, got \(pieces)")
        self.pieces = pieces
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 2 || inputShape.count == 4 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects [N, C·k, H, W] or [N, C·k], got \(inputShape)")
        }
        guard inputShape[1] % pieces == 0 else {
            throw NNError.shapeMismatch(layer: kind, message: "\(inputShape[1]) channels do not divide into groups of \(pieces) pieces")
        }
        var shape = inputShape
        shape[1] /= pieces
        return shape
    }

    public func forward(_ input: Tensor) -> Tensor {
        precondition((input.rank == 2 || input.rank == 4) && input.shape[1] % pieces == 0,
                     "Maxout(pieces: \(pieces)) got \(input.shape)")
        inputShape = input.shape
        var shape = input.shape
        shape[1] /= pieces
        output.reshape(shape)
        winners.reshape(shape)
        let groups = input.shape[0] * shape[1], inner = input.shape.dropFirst(2).reduce(1, *), pieces = pieces
        let x = input.pointer, y = output.pointer, best = winners.pointer
        Parallel.forEachRange(groups, minimumChunk: Swift.max(1, (1 << 12) / Swift.max(1, inner * pieces)),
                              MaxoutForward(x: x, y: y, winners: best, inner: inner, pieces: pieces))
        return output
    }

    /// The gradient goes to the winning piece; the others get 0.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(inputShape)
        guard needsInputGradient else { return gradInput }
        let groups = output.shape[0] * output.shape[1], inner = output.shape.dropFirst(2).reduce(1, *)
        let pieces = pieces, dy = gradOutput.pointer, dx = gradInput.pointer, best = winners.pointer
        Parallel.forEachRange(groups, minimumChunk: Swift.max(1, (1 << 12) / Swift.max(1, inner * pieces)),
                              MaxoutBackward(dy: dy, dx: dx, winners: best, inner: inner, pieces: pieces))
        return gradInput
    }
}

/// Per group: the largest of its pieces, element-wise, and which piece won (the first on ties).
private struct MaxoutForward: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Float>
    let inner: Int, pieces: Int

    func run(_ range: Range<Int>) {
        for group in range {
            let source = x + group * pieces * inner, target = y + group * inner, winner = winners + group * inner
            target.update(from: source, count: inner)
            winner.update(repeating: 0, count: inner)
            for piece in 1..<pieces {
                let candidate = source + piece * inner
                for i in 0..<inner where candidate[i] > target[i] {
                    target[i] = candidate[i]
                    winner[i] = Float(piece)
                }
            }
        }
    }
}

/// Per group: each output gradient goes to the piece that won, the others get 0.
private struct MaxoutBackward: ParallelBody {
    let dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, winners: UnsafePointer<Float>
    let inner: Int, pieces: Int

    func run(_ range: Range<Int>) {
        for group in range {
            let target = dx + group * pieces * inner, source = dy + group * inner, winner = winners + group * inner
            target.update(repeating: 0, count: pieces * inner)
            for i in 0..<inner { target[Int(winner[i]) * inner + i] = source[i] }
        }
    }
}
