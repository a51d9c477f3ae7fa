import Dispatch
import Foundation
import TensorCore

/// Makes one rank's training batches of an epoch, in order, on a background Dispatch queue,
/// up to `depth` batches ahead of the one the model is working on. The batches are those
/// `BatchMaker` makes on the calling thread, bit for bit (each is a pure function of seed,
/// epoch and samples). A ring of `depth + 1` reused batches means no allocation once warm.
/// `depth` 0 makes each batch on the calling thread when it is asked for.
public final class BatchPrefetcher: @unchecked Sendable {
    public let maker: any BatchMaking
    public let sampler: BatchSampler
    public let depth: Int
    private let ring: [Batch]
    /// Utility QoS: below the compute threads (on Linux libdispatch runs it at nice 2, where
    /// user-initiated work runs at −2), so making batches yields to the step it works ahead of.
    private let queue = DispatchQueue(label: "cnn-dist.prefetch", qos: .utility)
    /// The epoch being made (nil: none) and its order of samples.
    private var epoch: Int?
    private var permutation: [Int] = []
    /// The next batch `next()` returns, and how many it has returned in this epoch.
    private var nextBatch = 0
    private var taken = 0
    /// The background work of the current epoch (nil with depth 0 or when stopped).
    private var producer: Producer?

    /// What the consumer and the background work share: free ring slots (counted by `free`),
    /// made batches (`ready`), the end of the work (`finished`) and the request to stop. The
    /// work holds this, not the prefetcher, so a prefetcher released while it runs stops it.
    private final class Producer: @unchecked Sendable {
        // Semaphores start at 0 and are signalled up (libdispatch traps when one is freed below its start value).
        let free = DispatchSemaphore(value: 0), ready = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var cancelled = false
        private var failures: [Int: Error] = [:]
        var isCancelled: Bool { lock.withLock { cancelled } }
        func cancel() { lock.withLock { cancelled = true } }
        func fail(slot: Int, _ error: Error) { lock.withLock { failures[slot] = error } }
        /// The error of the batch in `slot`, once (the slot is then reused).
        func takeFailure(slot: Int) -> Error? { lock.withLock { failures.removeValue(forKey: slot) } }
    }

    public init(maker: any BatchMaking, sampler: BatchSampler, depth: Int) {
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
        let producer = Producer()
        self.producer = producer
        for _ in ring { producer.free.signal() }
        let (first, end, order, ring, maker, sampler) = (batch, sampler.batchesPerEpoch, permutation, ring, maker, sampler)
        queue.async {
            for index in first..<end {
                producer.free.wait()
                if producer.isCancelled { break }
                let slot = (index - first) % ring.count
                do {
                    try maker.make(order[sampler.positions(batch: index)], epoch: epoch, into: ring[slot])
                } catch {
                    producer.fail(slot: slot, error)
                }
                producer.ready.signal()
            }
            producer.finished.signal()
        }
    }

    /// The epoch's next batch; it stays valid until the next call of `next`, `start` or `stop`.
    /// Throws what making it threw (an unreadable image).
    public func next() throws -> Batch {
        guard let epoch else { preconditionFailure("BatchPrefetcher.next() before start(epoch:batch:)") }
        precondition(nextBatch < sampler.batchesPerEpoch, "epoch \(epoch) has only \(sampler.batchesPerEpoch) batches")
        defer {
            nextBatch += 1
            taken += 1
        }
        guard let producer else {
            try maker.make(permutation[sampler.positions(batch: nextBatch)], epoch: epoch, into: ring[0])
            return ring[0]
        }
        if taken > 0 { producer.free.signal() }  // the batch handed out last time is done with
        producer.ready.wait()
        if let failure = producer.takeFailure(slot: taken % ring.count) { throw failure }
        return ring[taken % ring.count]
    }

    /// Stops making batches and waits until the background work has ended; batches made and
    /// not taken are dropped.
    public func stop() {
        epoch = nil
        guard let producer else { return }
        self.producer = nil
        producer.cancel()
        producer.free.signal()  // wakes the work if it waits for a slot
        producer.finished.wait()
    }
}
