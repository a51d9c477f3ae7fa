import XCTest

@testable import Datasets
@testable import TensorCore

final class BatchSamplerTests: XCTestCase {
    func testRanksTakeDisjointSlicesOfTheSameGlobalBatch() throws {
        let single = try BatchSampler(sampleCount: 100, globalBatchSize: 8, shuffle: true, seed: 9, dropLast: true)
        let ranks = try (0..<4).map {
            try BatchSampler(sampleCount: 100, globalBatchSize: 8, rank: $0, worldSize: 4, shuffle: true, seed: 9, dropLast: true)
        }
        XCTAssertEqual(single.batchesPerEpoch, 12)  // 100 / 8, the last 4 samples dropped
        XCTAssertTrue(ranks.allSatisfy { $0.batchesPerEpoch == 12 })
        for epoch in 0..<3 {
            let permutation = single.permutation(epoch: epoch)
            var seen = Set<Int>()
            for batch in 0..<12 {
                let global = single.indices(epoch: epoch, batch: batch)
                XCTAssertEqual(global, Array(permutation[(batch * 8)..<((batch + 1) * 8)]))
                let shards = ranks.map { $0.indices(epoch: epoch, batch: batch) }
                XCTAssertEqual(shards.flatMap { $0 }, global)
                XCTAssertTrue(shards.allSatisfy { $0.count == 2 })
                XCTAssertEqual(shards[1], Array(global[2..<4]))
                XCTAssertEqual(ranks[3].indices(batch: batch, permutation: permutation), shards[3])
                seen.formUnion(global)
            }
            XCTAssertEqual(seen.count, 96, "every sample at most once per epoch")
        }
        // The permutation is a pure function of (seed, epoch): the same on every rank and
        // on every call, different across epochs and seeds.
        XCTAssertEqual(single.permutation(epoch: 1), single.permutation(epoch: 1))
        XCTAssertEqual(ranks[2].permutation(epoch: 1), single.permutation(epoch: 1))
        XCTAssertNotEqual(single.permutation(epoch: 0), single.permutation(epoch: 1))
        let otherSeed = try BatchSampler(sampleCount: 100, globalBatchSize: 8, shuffle: true, seed: 10, dropLast: true)
        XCTAssertNotEqual(otherSeed.permutation(epoch: 0), single.permutation(epoch: 0))
        XCTAssertEqual(Set(single.permutation(epoch: 2)), Set(0..<100))
        var expected = RandomGenerator(seed: 9).split("shuffle").split(UInt64(2))
        XCTAssertEqual(single.permutation(epoch: 2), expected.permutation(100))
    }

    func testWithoutShuffleFileOrderEveryEpoch() throws {
        let sampler = try BatchSampler(sampleCount: 10, globalBatchSize: 4, shuffle: false, seed: 9, dropLast: true)
        XCTAssertEqual(sampler.batchesPerEpoch, 2)
        for epoch in 0..<3 {
            XCTAssertEqual(sampler.indices(epoch: epoch, batch: 0), [0, 1, 2, 3])
            XCTAssertEqual(sampler.indices(epoch: epoch, batch: 1), [4, 5, 6, 7])
        }
    }

    func testValidationKeepsTheRemainderSplitEvenly() throws {
        let shards = try (0..<3).map {
            try BatchSampler(sampleCount: 10, globalBatchSize: 6, rank: $0, worldSize: 3, shuffle: false, seed: 0, dropLast: false)
        }
        XCTAssertEqual(shards[0].batchesPerEpoch, 2)
        XCTAssertEqual(shards.map { $0.indices(epoch: 0, batch: 0) }, [[0, 1], [2, 3], [4, 5]])
        XCTAssertEqual(shards.map { $0.indices(epoch: 0, batch: 1) }, [[6], [7], [8, 9]])
        // A final batch smaller than the world: some ranks get nothing, nothing is lost or doubled.
        let tiny = try (0..<4).map {
            try BatchSampler(sampleCount: 10, globalBatchSize: 8, rank: $0, worldSize: 4, shuffle: true, seed: 1, dropLast: false)
        }
        let last = tiny.map { $0.indices(epoch: 0, batch: 1) }
        XCTAssertEqual(last.map(\.count), [0, 1, 0, 1])
        XCTAssertEqual(last.flatMap { $0 }, Array(tiny[0].permutation(epoch: 0)[8...]))
        // Counts: kept vs dropped remainder, and an exact multiple.
        XCTAssertEqual(try BatchSampler(sampleCount: 2_000, globalBatchSize: 64, shuffle: false, seed: 0, dropLast: false)
            .batchesPerEpoch, 32)
        XCTAssertEqual(try BatchSampler(sampleCount: 8_000, globalBatchSize: 64, shuffle: true, seed: 0, dropLast: true)
            .batchesPerEpoch, 125)
        XCTAssertEqual(try BatchSampler(sampleCount: 8_001, globalBatchSize: 64, shuffle: true, seed: 0, dropLast: true)
            .batchesPerEpoch, 125)
        XCTAssertEqual(try BatchSampler(sampleCount: 0, globalBatchSize: 64, shuffle: false, seed: 0, dropLast: false)
            .batchesPerEpoch, 0)
    }

    func testInvalidSettingsAreClearErrors() {
        XCTAssertThrowsError(try BatchSampler(sampleCount: 100, globalBatchSize: 64, rank: 0, worldSize: 3,
                                              shuffle: true, seed: 1, dropLast: true)) {
            XCTAssertEqual("\($0)", "global batch 64 does not divide over 3 ranks: set training.batch_size to a multiple of 3")
        }
        XCTAssertThrowsError(try BatchSampler(sampleCount: 100, globalBatchSize: 0, shuffle: true, seed: 1, dropLast: true)) {
            XCTAssertEqual("\($0)", "batch size must be positive, got 0")
        }
        XCTAssertThrowsError(try BatchSampler(sampleCount: 100, globalBatchSize: 8, rank: 2, worldSize: 2,
                                              shuffle: true, seed: 1, dropLast: true)) {
            XCTAssertEqual("\($0)", "rank 2 is not in 0..<2 (world size 2)")
        }
        XCTAssertThrowsError(try BatchSampler(sampleCount: 10, globalBatchSize: 16, shuffle: true, seed: 1, dropLast: true)) {
            XCTAssertEqual("\($0)", "10 training samples are fewer than one global batch of 16")
        }
    }

    func testMakeBatchNormalises() throws {
        let images = LabeledImages(name: "t", channels: 2, height: 1, width: 2, classes: 3,
                                   pixels: [0, 1, 0.5, 0.5, 1, 1, 0, 0], labels: [2, 0])
        let normalization = try Normalization(mean: [0.5, 0.25], std: [0.5, 0.25], channels: 2)
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        makeBatch(images, indices: [1, 0], normalization: normalization, into: input, labels: &labels)
        XCTAssertEqual(input.shape, [2, 2, 1, 2])
        XCTAssertEqual(input.array, [1, 1, -1, -1, -1, 1, 1, 1])
        XCTAssertEqual(labels, [0, 2])
        // MNIST's constants: (x - 0.1307) / 0.3081 exactly as computed in Float.
        let mnist = try Normalization(mean: [0.1307], std: [0.3081], channels: 1)
        let gray = LabeledImages(name: "g", channels: 1, height: 1, width: 3, classes: 10,
                                 pixels: [0, 0.5, 1], labels: [4])
        makeBatch(gray, indices: [0], normalization: mnist, into: input, labels: &labels)
        XCTAssertEqual(input.shape, [1, 1, 1, 3])
        XCTAssertEqual(input.array, [0, 0.5, 1].map { ($0 - Float(0.1307)) / Float(0.3081) })
        XCTAssertEqual(input.array[0], -0.42421, accuracy: 1e-5)
        XCTAssertEqual(labels, [4])
        // Without normalisation the values are copied; a smaller batch reuses the storage.
        let capacity = labels.capacity
        let storage = input.pointer
        makeBatch(images, indices: [1], normalization: nil, into: input, labels: &labels)
        XCTAssertEqual(input.array, [1, 1, 0, 0])
        XCTAssertEqual(labels, [0])
        XCTAssertEqual(input.pointer, storage)
        XCTAssertEqual(labels.capacity, capacity)
    }

    func testNormalizationIsValidated() {
        XCTAssertThrowsError(try Normalization(mean: [0.5], std: [0], channels: 1)) {
            XCTAssertEqual("\($0)", "normalisation std must be positive, got [0.0]")
        }
        XCTAssertThrowsError(try Normalization(mean: [0.5], std: [1], channels: 3)) {
            XCTAssertEqual("\($0)", "normalisation has 1 mean and 1 std values for 3-channel images: give one per channel")
        }
        XCTAssertNoThrow(try Normalization(mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2], channels: 3))
    }

    func testSubsetKeepsImagesAndLabelsTogether() {
        let images = LabeledImages(name: "t", channels: 1, height: 1, width: 2, classes: 3,
                                   pixels: [0, 0.1, 0.2, 0.3, 0.4, 0.5], labels: [0, 1, 2])
        let tail = images.subset(1..<3)
        XCTAssertEqual(tail.pixels, [0.2, 0.3, 0.4, 0.5])
        XCTAssertEqual(tail.labels, [1, 2])
        XCTAssertEqual(tail.count, 2)
        XCTAssertEqual(images.subset(0..<0).count, 0)
    }
}
