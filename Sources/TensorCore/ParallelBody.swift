/// The body of a parallel loop as a value: what the loop reads (pointers, sizes) as stored
/// properties, the work in `run(_:)`.
///
/// Worker threads receive the body by address, so a parallel region allocates nothing. A
/// closure cannot be handed to other threads without boxing it (`withoutActuallyEscaping`
/// allocates its thunk on every call): one heap allocation per region, about 160 per
/// ResNet-20 training step. Kernels on the training step therefore pass bodies; the
/// closure forms of `Parallel` remain for code off that path.
public protocol ParallelBody {
    /// Processes the indices in `range`, a contiguous share of the loop, on one thread.
    func run(_ range: Range<Int>)
}

/// A loop over 0..<count cut into `parts` contiguous ranges, one per thread; part p takes
/// [p·count/parts, (p+1)·count/parts): a deterministic assignment with good locality.
struct ContiguousParts<Body: ParallelBody> {
    let body: Body
    let count: Int
    let parts: Int

    @inline(__always)
    func run(part: Int) {
        let start = part * count / parts, end = (part + 1) * count / parts
        if start < end { body.run(start..<end) }
    }
}

/// A closure as a body, for the closure forms of `Parallel` (one allocation per region).
struct ClosureBody: ParallelBody {
    let body: (Range<Int>) -> Void

    func run(_ range: Range<Int>) { body(range) }
}
