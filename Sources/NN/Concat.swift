import TensorCore

/// Runs every branch on the same input and concatenates their outputs along the channel
/// dimension (torch.cat(dim=1), as in an Inception block); the branches are the children.
/// forward: [N, C, H, W] → [N, ΣCᵢ, Hᵢ, Wᵢ] (every branch must give the same N and spatial size)
///
/// In bf16 (autocast) the summed input gradient is rounded to bf16, as autograd's sum of the
/// branches' bf16 gradients is (here summed in Float32 and rounded once).
public final class Concat: MixedPrecisionLayer {
    public let kind = "Concat"
    public let branches: [(name: String, layer: Layer)]
    public var isTraining = true
    public var precision = ComputePrecision.fp32
    /// Whether the last forward ran in bf16 (backward rounds the summed input gradient then).
    private var roundedForward = false
    public var needsInputGradient = true {
        didSet { for branch in branches { branch.layer.needsInputGradient = needsInputGradient } }
    }

    private let output = Tensor(shape: [0])
    /// The branches' input gradients summed; `GradientBufferPlan` may give it a shared slot.
    let gradInput = Tensor(shape: [0])
    /// What each branch returned in the last forward, and the slice of the output gradient it
    /// gets back (each may share a slot, by the plan).
    private var branchOutputs: [Tensor]
    let branchGradients: [Tensor]
    private var inputShape: [Int] = []

    public init(_ branches: [(name: String, layer: Layer)]) {
        precondition(!branches.isEmpty, "Concat needs at least one branch")
        self.branches = branches
        branchOutputs = branches.map { _ in Tensor(shape: [0]) }
        branchGradients = branches.map { _ in Tensor(shape: [0]) }
    }

    public var children: [(name: String, layer: Layer)] { branches }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        var first: (name: String, shape: [Int])?
        var channels = 0
        for branch in branches {
            let shape = try childOutputShape(branch, for: inputShape)
            guard shape.count >= 2 else {
                throw NNError.shapeMismatch(layer: kind, message: "branch '\(branch.name)' gives \(shape), which has no channel dimension to concatenate along")
            }
            if let first, shape.count != first.shape.count || shape[0] != first.shape[0] || shape[2...] != first.shape[2...] {
                throw NNError.shapeMismatch(layer: kind, message: "branch '\(branch.name)' gives \(shape) but branch '\(first.name)' gives \(first.shape); branches must agree in every dimension but the channels")
            }
            if first == nil { first = (branch.name, shape) }
            channels += shape[1]
        }
        var result = first!.shape
        result[1] = channels
        return result
    }

    public func forward(_ input: Tensor) -> Tensor {
        roundedForward = precision.roundsToBFloat16
        inputShape = input.shape
        for index in branches.indices { branchOutputs[index] = LayerProfiler.forward(branches[index].layer, input) }
        let firstShape = branchOutputs[0].shape
        let batch = firstShape[0]
        let inner = firstShape.dropFirst(2).reduce(1, *)
        var channels = 0
        for out in branchOutputs {
            precondition(out.rank == firstShape.count && out.shape[0] == batch && out.shape[2...] == firstShape[2...],
                         "Concat: branch outputs \(branchOutputs.map(\.shape)) disagree beyond the channels")
            channels += out.shape[1]
        }
        // Rebuilding the shape array every step would allocate (copy-on-write of firstShape).
        if output.shape.count != firstShape.count || output.shape[0] != batch || output.shape[1] != channels
            || output.shape[2...] != firstShape[2...] {
            var shape = firstShape
            shape[1] = channels
            output.reshape(shape)
        }
        var offset = 0
        for out in branchOutputs {
            // Branch b's [N, C_b, ...] block goes to channels offset ..< offset + C_b of every image.
            let size = out.shape[1] * inner
            Parallel.forEachRange(batch, CopyRows(source: out.pointer, sourceStride: size, target: output.pointer + offset,
                                                  targetStride: channels * inner, count: size))
            offset += size
        }
        return output
    }

    /// Each branch gets its channel slice of the gradient; the input gradients of all branches add up.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        let batch = gradOutput.shape[0], totalChannels = gradOutput.shape[1]
        let inner = gradOutput.shape.dropFirst(2).reduce(1, *)
        var channelOffset = 0
        for index in branches.indices {
            let slice = branchGradients[index]
            slice.reshape(branchOutputs[index].shape)
            let size = slice.shape[1] * inner, start = channelOffset * inner
            let dy = gradOutput.pointer, target = slice.pointer
            Parallel.forEachRange(batch, CopyRows(source: dy + start, sourceStride: totalChannels * inner, target: target,
                                                  targetStride: size, count: size))
            channelOffset += slice.shape[1]
            let branchGradInput = LayerProfiler.backward(branches[index].layer, slice)
            if !needsInputGradient { continue }
            if index == 0 {
                gradInput.reshape(inputShape)
                gradInput.copy(from: branchGradInput)
            } else if index == branches.count - 1 && roundedForward {
                Elementwise.addRoundingToBFloat16(branchGradInput.pointer, gradInput.pointer, into: gradInput.pointer,
                                                  count: gradInput.count)
            } else {
                Elementwise.axpy(alpha: 1, branchGradInput.pointer, gradInput.pointer, count: gradInput.count)
            }
        }
        gradInput.reshape(inputShape)
        return gradInput
    }

    /// A Concat keeps no rounded copies.
    public func bfloat16CopyValues(inputShape: [Int]) -> Int { 0 }
}

/// Row n: target[n·targetStride ..< +count] = source[n·sourceStride ..< +count].
private struct CopyRows: ParallelBody {
    let source: UnsafePointer<Float>, sourceStride: Int
    let target: UnsafeMutablePointer<Float>, targetStride: Int
    let count: Int

    func run(_ rows: Range<Int>) {
        for n in rows { (target + n * targetStride).update(from: source + n * sourceStride, count: count) }
    }
}
