import TensorCore

/// Inverted dropout (PyTorch Dropout): in training each element is zeroed with probability p
/// and the kept ones are scaled by 1/(1 − p); evaluation passes the input through.
/// forward: any shape → same shape
///
/// The mask is a pure function of the stream `beginStep(random:)` last gave (a fixed default
/// stream before the first call): every forward of a step draws the same mask, chunk by chunk
/// from independent sub-streams, so it does not depend on the thread count either.
public final class Dropout: Layer {
    public let kind = "Dropout"
    public let p: Float
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    /// 0 or 1/(1 − p) per element, from the last training forward.
    private let mask = Tensor(shape: [0])
    private var forwardDropped = false
    private var random = RandomGenerator(seed: 0).split("dropout")

    /// Elements drawn from one sub-stream.
    static let chunk = 1 << 12

    public init(p: Float = 0.5) {
        precondition(p >= 0 && p <= 1, "Dropout: p must lie in [0, 1], got \(p)")
        self.p = p
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

    /// PyTorch's functional dropout: no activation memory counted for summaries.
    public var allocatesOutput: Bool { false }

    public func beginStep(random: RandomGenerator) { self.random = random }

    public func forward(_ input: Tensor) -> Tensor {
        output.reshape(input.shape)
        forwardDropped = isTraining && p > 0
        guard forwardDropped else {
            output.copy(from: input)
            return output
        }
        mask.reshape(input.shape)
        let count = input.count, chunk = Dropout.chunk
        Parallel.forEachRange((count + chunk - 1) / chunk, minimumChunk: 4, DrawMask(
            x: input.pointer, y: output.pointer, mask: mask.pointer, count: count, p: p, stream: random))
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        gradInput.reshape(gradOutput.shape)
        guard needsInputGradient else { return gradInput }
        guard forwardDropped else {
            gradInput.copy(from: gradOutput)
            return gradInput
        }
        let dy = gradOutput.pointer, dx = gradInput.pointer, m = mask.pointer
        Elementwise.multiply(dy, m, into: dx, count: gradOutput.count)
        return gradInput
    }
}

/// Draws the mask chunk by chunk (chunk i from sub-stream i) and applies it.
private struct DrawMask: ParallelBody {
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>
    let count: Int, p: Float, stream: RandomGenerator

    func run(_ chunks: Range<Int>) {
        let chunk = Dropout.chunk
        let kept: Float = p < 1 ? 1 / (1 - p) : 0
        for index in chunks {
            var draws = stream.split(UInt64(index))
            for i in index * chunk..<Swift.min(count, (index + 1) * chunk) {
                let scale = draws.nextUnitFloat() < p ? 0 : kept
                mask[i] = scale
                y[i] = x[i] * scale
            }
        }
    }
}
