#if canImport(Glibc)
import Glibc
#endif

/// Ranks as threads of one process, collectives through shared memory: `--workers N`
/// runs data-parallel training without MPI, for tests and debugging.
///
/// All-reduce: each rank publishes its buffer, then every rank sums one disjoint chunk
/// over all buffers in rank order and writes it back to all of them. The result is
/// identical on every rank and independent of timing.
public final class InProcessCommunicator: Communicator, CollectiveRequestOwner {
    /// State shared by the ranks of one group. Each rank writes only its own slot between
    /// barriers, so raw per-rank storage (not Swift arrays) keeps the threads race-free.
    final class Group: @unchecked Sendable {
        let size: Int
        let barrier: InProcessBarrier
        let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
        let counts: UnsafeMutablePointer<Int>
        let gathered: UnsafeMutablePointer<Double>

        init(size: Int) {
            self.size = size
            barrier = InProcessBarrier(parties: size)
            buffers = .allocate(capacity: size)
            buffers.initialize(repeating: nil, count: size)
            counts = .allocate(capacity: size)
            counts.initialize(repeating: 0, count: size)
            gathered = .allocate(capacity: size)
            gathered.initialize(repeating: 0, count: size)
        }

        deinit {
            buffers.deallocate()
            counts.deallocate()
            gathered.deallocate()
        }

        func buffer<T>(_ rank: Int, as type: T.Type) -> UnsafeMutablePointer<T> {
            buffers[rank]!.assumingMemoryBound(to: T.self)
        }
    }

    public let rank: Int
    let group: Group
    /// Started all-reduces not yet waited on (nil once completed); they run when waited on.
    private var pending: [UnsafeMutableBufferPointer<Float>?] = []
    public var worldSize: Int { group.size }
    public var localRank: Int { rank }
    public var localSize: Int { group.size }
    public var backendName: String { "in-process" }
    public var phase = CollectivePhase()

    init(rank: Int, group: Group) {
        self.rank = rank
        self.group = group
    }

    /// One communicator per rank of a new group of `size` threads.
    public static func makeGroup(size: Int) throws -> [InProcessCommunicator] {
        guard size >= 1 else { throw DistributedError.invalidWorkers(size) }
        let group = Group(size: size)
        return (0..<size).map { InProcessCommunicator(rank: $0, group: group) }
    }

    private func reduce<T: FloatingPoint>(_ buffer: UnsafeMutableBufferPointer<T>) {
        publish(buffer)
        let count = buffer.count
        for r in 0..<group.size {
            precondition(group.counts[r] == count, "[rank \(rank)] all-reduce of \(count) elements, rank \(r) has \(group.counts[r])")
        }
        if count > 0 {
            let start = rank * count / group.size, end = (rank + 1) * count / group.size
            for i in start..<end {
                var sum = group.buffer(0, as: T.self)[i]
                for r in 1..<group.size { sum += group.buffer(r, as: T.self)[i] }
                for r in 0..<group.size { group.buffer(r, as: T.self)[i] = sum }
            }
        }
        group.barrier.wait()
    }

    /// Puts this rank's buffer in its slot and waits until every rank has done so.
    private func publish<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
        group.buffers[rank] = buffer.baseAddress.map { UnsafeMutableRawPointer($0) }
        group.counts[rank] = buffer.count
        group.barrier.wait()
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        if group.size > 1 { reduce(buffer) }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        if group.size > 1 { reduce(buffer) }
    }

    /// Runs the reduction when waited on: threads have no progress engine to overlap with.
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, bucket: Int) -> CollectiveRequest {
        pending.append(buffer)
        return CollectiveRequest(owner: self, index: pending.count - 1)
    }

    public func completeRequest(_ index: Int) {
        guard pending.indices.contains(index), let buffer = pending[index] else { return }
        pending[index] = nil
        allReduceSum(buffer)
        if pending.allSatisfy({ $0 == nil }) { pending.removeAll(keepingCapacity: true) }
    }

    public func progress() {}

    private func share<T>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) {
        guard group.size > 1 else { return }
        publish(buffer)
        precondition(group.counts[root] == buffer.count,
                     "[rank \(rank)] broadcast of \(buffer.count) elements, root has \(group.counts[root])")
        if rank != root, buffer.count > 0 {
            buffer.baseAddress!.update(from: group.buffer(root, as: T.self), count: buffer.count)
        }
        group.barrier.wait()
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        share(buffer, root: root)
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) {
        share(buffer, root: root)
    }

    public func allGather(_ value: Double) -> [Double] {
        guard group.size > 1 else { return [value] }
        group.gathered[rank] = value
        group.barrier.wait()
        let result = Array(UnsafeBufferPointer(start: group.gathered, count: group.size))
        group.barrier.wait()
        return result
    }

    public func barrier() { group.barrier.wait() }
    public func finish() {}

    /// Threads share the process: aborting one rank ends them all.
    public func abort(message: String, code: Int32) -> Never {
        fputs(message + "\n", stderr)
        fflush(stderr)
        exit(code)
    }
}
