import XCTest

@testable import Datasets
@testable import TensorCore

final class BatchPrefetcherTests: XCTestCase {
    let augmentation = Augmentation(crop: RandomCrop(size: 32, padding: 4), horizontalFlip: true,
                                    lighting: PCALighting(alphaStd: 0.1))

    func maker() throws -> BatchMaker {
        let images = SyntheticShapes.makeColor(count: 50, seed: 3, stream: "p")
        return try BatchMaker(images: images, normalization: try Normalization(mean: CIFAR10.mean, std: CIFAR10.std, channels: 3),
                              augmentation: augmentation, seed: 9)
    }

    /// The batch the synchronous path makes: indices from the sampler, made on this thread.
    func synchronous(_ maker: BatchMaker, _ sampler: BatchSampler, epoch: Int, batch: Int) -> ([Float], [Int32]) {
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        maker.make(sampler.indices(epoch: epoch, batch: batch), epoch: epoch, into: input, labels: &labels)
        return (input.array, labels)
    }

    /// Depth 0 (synchronous), 1 and 3, on one rank and on rank 1 of 2, across three epochs,
    /// the first resumed mid-epoch: the same batches bit for bit, in order.
    func testPrefetchedBatchesEqualTheSynchronousOnes() throws {
        let maker = try maker()
        for (rank, worldSize) in [(0, 1), (1, 2)] {
            let sampler = try BatchSampler(sampleCount: 50, globalBatchSize: 8, rank: rank, worldSize: worldSize,
                                           shuffle: true, seed: 9, dropLast: true)
            for depth in [0, 1, 3] {
                let prefetcher = BatchPrefetcher(maker: maker, sampler: sampler, depth: depth)
                for (epoch, first) in [(2, 4), (3, 0), (4, 0)] {
                    prefetcher.start(epoch: epoch, batch: first)
                    for batch in first..<sampler.batchesPerEpoch {
                        let made = try prefetcher.next()
                        let expected = synchronous(maker, sampler, epoch: epoch, batch: batch)
                        XCTAssertEqual(made.input.shape, [8 / worldSize, 3, 32, 32])
                        XCTAssertEqual(made.input.array, expected.0, "rank \(rank) depth \(depth) epoch \(epoch) batch \(batch)")
                        XCTAssertEqual(made.labels, expected.1)
                    }
                }
                prefetcher.stop()
            }
        }
    }

    /// Stopping mid-epoch (a stop signal, max_steps) and starting again anywhere works, with
    /// the producer waiting on a full ring or still busy; a prefetcher released while running stops.
    func testStopMidEpochAndRestart() throws {
        let maker = try maker()
        let sampler = try BatchSampler(sampleCount: 50, globalBatchSize: 4, shuffle: true, seed: 2, dropLast: true)
        let prefetcher = BatchPrefetcher(maker: maker, sampler: sampler, depth: 2)
        for round in 0..<20 {
            prefetcher.start(epoch: round % 3, batch: round % 5)
            for _ in 0..<(round % 4) { _ = try prefetcher.next() }
            if round % 2 == 0 { usleep(2_000) }  // let the producer fill the ring
            prefetcher.stop()
        }
        prefetcher.start(epoch: 1, batch: 7)
        XCTAssertEqual(try prefetcher.next().input.array, synchronous(maker, sampler, epoch: 1, batch: 7).0)
        prefetcher.stop()
        prefetcher.stop()  // twice is harmless
        var running: BatchPrefetcher? = BatchPrefetcher(maker: maker, sampler: sampler, depth: 3)
        running?.start(epoch: 0, batch: 0)
        _ = try running?.next()
        running = nil
        XCTAssertNil(running)
    }

    /// The ring's tensors are reused: the batches handed out come from depth + 1 tensors.
    func testTheRingReusesItsBatches() throws {
        let maker = try maker()
        let sampler = try BatchSampler(sampleCount: 50, globalBatchSize: 4, shuffle: true, seed: 2, dropLast: true)
        let prefetcher = BatchPrefetcher(maker: maker, sampler: sampler, depth: 2)
        var seen = Set<ObjectIdentifier>()
        for epoch in 0..<2 {
            prefetcher.start(epoch: epoch, batch: 0)
            for _ in 0..<sampler.batchesPerEpoch { seen.insert(ObjectIdentifier(try prefetcher.next().input)) }
        }
        prefetcher.stop()
        XCTAssertEqual(seen.count, 3)
    }
}
