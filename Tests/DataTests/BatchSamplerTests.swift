import Data
import TensorCore
import XCTest

final class BatchSamplerTests: XCTestCase {
    func testRanksTakeDisjointSlicesOfTheSameGlobalBatch() throws {
        let single = try BatchSampler(sampleCount: 100, globalBatchSize: 8, shuffle: true, seed: 9, dropLast: true)
        let ranks = try (0..<4).map {
            try BatchSampler(sampleCount: 100, globalBatchSize: 8, rank: $0, worldSize: 4, shuffle: true, seed: 9, dropLast: true)
        }
        XCTAssertEqual(single.batchesPerEpoch, 12)  // 100 / 8, the last 4 samples dropped
        for epoch in 0..<3 {
            for batch in 0..<12 {
                let global = single.indices(epoch: epoch, batch: batch)
                XCTAssertEqual(ranks.flatMap { $0.indices(epoch: epoch, batch: batch) }, global)
                XCTAssertEqual(ranks[1].indices(epoch: epoch, batch: batch), Array(global[2..<4]))
            }
        }
        XCTAssertNotEqual(single.permutation(epoch: 0), single.permutation(epoch: 1))
        XCTAssertEqual(single.permutation(epoch: 1), single.permutation(epoch: 1))
        XCTAssertEqual(Set(single.permutation(epoch: 2)), Set(0..<100))
    }

    func testValidationKeepsTheRemainderSplitEvenly() throws {
        let shards = try (0..<3).map {
            try BatchSampler(sampleCount: 10, globalBatchSize: 6, rank: $0, worldSize: 3, shuffle: false, seed: 0, dropLast: false)
        }
        XCTAssertEqual(shards[0].batchesPerEpoch, 2)
        XCTAssertEqual(shards.map { $0.indices(epoch: 0, batch: 0) }, [[0, 1], [2, 3], [4, 5]])
        XCTAssertEqual(shards.map { $0.indices(epoch: 0, batch: 1) }, [[6], [7], [8, 9]])
    }

    func testIndivisibleBatchIsAClearError() {
        XCTAssertThrowsError(try BatchSampler(sampleCount: 100, globalBatchSize: 64, rank: 0, worldSize: 3,
                                              shuffle: true, seed: 1, dropLast: true)) {
            XCTAssertEqual("\($0)", "global batch 64 does not divide over 3 ranks: set training.batch_size to a multiple of 3")
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
        XCTAssertThrowsError(try Normalization(mean: [0.5], std: [0], channels: 1))
        XCTAssertThrowsError(try Normalization(mean: [0.5], std: [1], channels: 3))
    }
}
