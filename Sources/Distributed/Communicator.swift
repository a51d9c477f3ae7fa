import CMPI
import Foundation

/// How ranks of a data-parallel job talk: collectives over flat buffers.
///
/// The trainer sees only this protocol; single-process, in-process (threads) and MPI
/// implementations plug in behind it. Buffers are in place: after `allReduceSum` every
/// rank holds the element-wise sum over all ranks. Every rank must issue the same
/// collectives in the same order.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var worldSize: Int { get }
    /// Rank and rank count on this node (for choosing threads per rank).
    var localRank: Int { get }
    var localSize: Int { get }
    /// Short description for logs ("MPI (Open MPI 4.1.4)", "in-process", "single process").
    var backendName: String { get }
    /// Where this rank stands (step, activity): the trainer keeps it current, and the collective
    /// watchdog names it when a collective waits too long.
    var phase: CollectivePhase { get set }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// Starts an in-place sum of gradient bucket `bucket` (named in timeout reports); the buffer
    /// must not be touched until the request is waited on.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, bucket: Int) -> CollectiveRequest
    /// Starts an in-place sum of bfloat16 values (their bits), each partial sum rounded to bf16:
    /// half the bytes of a Float32 all-reduce (`distributed.allreduce_dtype: bf16`).
    func startAllReduceSumBFloat16(_ buffer: UnsafeMutableBufferPointer<UInt16>, bucket: Int) -> CollectiveRequest
    /// Lets outstanding non-blocking collectives progress (MPI progresses only inside MPI calls).
    func progress()
    /// Copies `root`'s buffer into every other rank's buffer.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int)
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int)
    /// Every rank's `value`, indexed by rank.
    func allGather(_ value: Double) -> [Double]
    func barrier()
    /// Ends this rank's part in the job cleanly (MPI_Finalize); call once, last.
    func finish()
    /// Ends the whole job (every rank) with `code` after printing `message` on standard error.
    func abort(message: String, code: Int32) -> Never
}

/// A started non-blocking collective; `wait()` returns when its buffer holds the result
/// (waiting again does nothing). A value that names the request inside its communicator,
/// so starting a collective on every training step allocates nothing.
public struct CollectiveRequest {
    private let owner: (any CollectiveRequestOwner)?
    private let index: Int

    /// A request that is already complete.
    public init() {
        owner = nil
        index = 0
    }

    /// Request `index` of `owner`, completed by `owner.completeRequest(index)`.
    public init(owner: any CollectiveRequestOwner, index: Int) {
        self.owner = owner
        self.index = index
    }

    public func wait() { owner?.completeRequest(index) }
}

/// A communicator that keeps the collectives it started and completes them by index.
public protocol CollectiveRequestOwner: AnyObject {
    /// Blocks until request `index` is complete; nothing for one already completed.
    func completeRequest(_ index: Int)
}

extension Communicator {
    public var isCoordinator: Bool { rank == 0 }

    /// Communicators without a bf16 collective (threads of one process, one process): the values
    /// summed in Float32 and rounded to bf16 once, completed at once.
    public func startAllReduceSumBFloat16(_ buffer: UnsafeMutableBufferPointer<UInt16>, bucket: Int)
        -> CollectiveRequest
    {
        guard worldSize > 1, !buffer.isEmpty else { return CollectiveRequest() }
        var values = buffer.map(cmpi_bf16_to_float)
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
        for i in buffer.indices { buffer[i] = cmpi_bf16_from_float(values[i]) }
        return CollectiveRequest()
    }

    public func allReduceSum(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { allReduceSum($0) }
    }

    public func broadcast(_ values: inout [Double], root: Int) {
        values.withUnsafeMutableBufferPointer { broadcast($0, root: root) }
    }
}

extension Communicator {
    /// Rank `root`'s string map on every rank (a record in its flat encoding): its length, then
    /// its JSON bytes, one byte per Double (a few hundred bytes, once per run). A map that does
    /// not encode or decode fails on every rank alike (length −1), so no rank waits for another.
    public func broadcast(_ entries: inout [String: String], root: Int) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let bytes = rank == root ? (try? encoder.encode(entries)).map { [UInt8]($0) } : []
        var length = [bytes.map { Double($0.count) } ?? -1]
        broadcast(&length, root: root)
        guard length[0] >= 0 else { throw DistributedError.undecodableBroadcast(root: root) }
        var payload = rank == root ? (bytes ?? []).map(Double.init) : [Double](repeating: 0, count: Int(length[0]))
        broadcast(&payload, root: root)
        guard rank != root else { return }
        let received = Data(payload.map { UInt8($0) })
        guard let decoded = try? JSONDecoder().decode([String: String].self, from: received) else {
            throw DistributedError.undecodableBroadcast(root: root)
        }
        entries = decoded
    }
}
