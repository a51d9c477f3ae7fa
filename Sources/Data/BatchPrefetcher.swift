import Dispatch
import Foundation
import TensorCore

/// One batch of the prefetcher's ring: the input ([n, C, H, W]) and its labels, reused.
public final class Batch {
    public let input = Tensor(shape: [0])
    public internal(set) var labels: [Int32] = []
}

/// Makes one rank's training batches of an epoch, in order, on a background Dispatch queue,
/// up to `depth` batches ahead of the one the model is working on. The batches are those
/// `BatchMaker` makes on the calling thread, bit for bit (each is a pure function of seed,
/// epoch and samples). A ring of `depth + 1` reused batches means no allocation once warm.
/// `depth` 0 makes each batch on the calling thread when it is asked for.
public final class BatchPrefetcher: @unchecked Sendable {
    public let maker: BatchMaker
    public let sampler: BatchSampler
    public let depth: Int
    private let ring: [Batch]
    private let queue = DispatchQueue(label: "cnn-dist.prefetch", qos: .userInitiated)
    private let lock = NSLock()
    private var cancelled = false
    /// The epoch being made (nil: none) and its order of samples.
    private var epoch: Int?
    private var permutation: [Int] = []
    /// The next batch `next()` returns, and how many it has returned in this epoch.
    private var nextBatch = 0
    private var taken = 0
    /// Free ring slots (for the producer), made batches (for the consumer), and the producer's end.
    private var free = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)

    public init(maker: BatchMaker, sampler: BatchSampler, depth: Int) {
        precondition(depth >= 0, "prefetch depth \(depth)")
        self.maker = maker
        self.sampler = sampler
        self.depth = depth
        ring = (0...depth).map { _ in Batch() }
    }

    deinit { stop() }

    /// Starts on batch `batch` of `epoch` (ending whatever was being made before).
    public func start(epoch: Int, batch: Int) {
        stop()
        precondition((0...sampler.batchesPerEpoch).contains(batch), "batch \(batch) outside 0...\(sampler.batchesPerEpoch)")
        self.epoch = epoch
        permutation = sampler.permutation(epoch: epoch)
        nextBatch = batch
        taken = 0
        guard depth > 0 else { return }
        // Semaphores start at 0 and are signalled up (libdispatch traps when one is freed below its start value).
        free = DispatchSemaphore(value: 0)
        ready = DispatchSemaphore(value: 0)
        finished = DispatchSemaphore(value: 0)
        for _ in ring { free.signal() }
        let (first, end, order) = (batch, sampler.batchesPerEpoch, permutation)
        queue.async { [self] in
            for index in first..<end {
                free.wait()
                if isCancelled { break }
                let slot = ring[(index - first) % ring.count]
                maker.make(order[sampler.positions(batch: index)], epoch: epoch, into: slot.input, labels: &slot.labels)
                ready.signal()
            }
            finished.signal()
        }
    }

    /// The epoch's next batch; it stays valid until the next call of `next`, `start` or `stop`.
    public func next() -> Batch {
        guard let epoch else { preconditionFailure("BatchPrefetcher.next() before start(epoch:batch:)") }
        precondition(nextBatch < sampler.batchesPerEpoch, "epoch \(epoch) has only \(sampler.batchesPerEpoch) batches")
        defer {
            nextBatch += 1
            taken += 1
        }
        guard depth > 0 else {
            maker.make(permutation[sampler.positions(batch: nextBatch)], epoch: epoch, into: ring[0].input, labels: &ring[0].labels)
            return ring[0]
        }
        if taken > 0 { free.signal() }  // the batch handed out last time is done with
        ready.wait()
        return ring[taken % ring.count]
    }

    /// Stops making batches and waits until the background work has ended; batches made and
    /// not taken are dropped.
    public func stop() {
        guard epoch != nil else { return }
        epoch = nil
        guard depth > 0 else { return }
        lock.withLock { cancelled = true }
        free.signal()  // wakes the producer if it waits for a slot
        finished.wait()
        lock.withLock { cancelled = false }
    }

    private var isCancelled: Bool { lock.withLock { cancelled } }
}
