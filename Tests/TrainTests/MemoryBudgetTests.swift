import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import NN
@testable import Train

/// Sizes are checked before they are allocated: a run that cannot fit is refused with what it
/// needs and what the machine has.
final class MemoryBudgetTests: XCTestCase {
    func testSizesReadAsPeopleWriteThem() {
        XCTAssertEqual(MemoryBudget.text(512), "512 bytes")
        XCTAssertEqual(MemoryBudget.text(1536), "1.5 KiB")
        XCTAssertEqual(MemoryBudget.text(25_228_623_872), "23 GiB")
        XCTAssertEqual(MemoryBudget.text(7.1 * 1_099_511_627_776), "7.1 TiB")
        XCTAssertEqual(MemoryBudget.text(1e30), "867361737988 EiB")
    }

    func testTrainingNeedsAreALowerBound() throws {
        let config = TrainingFixtures.smallSynthetic(runDirectory: "/tmp/unused")
        let model = try ModelFactory.make(config.model, inputShape: [1, 28, 28], classes: 10)
        let summary = try ModelSummary(model: model)
        // Batch 64: parameters ×3, activations ×64, and four input batches (two made ahead, one in use, one next).
        let bytes = Double(summary.fixedTrainingValues + 64 * summary.forwardActivations + 4 * 64 * 784) * 4
        XCTAssertNoThrow(
            try MemoryBudget.checkTraining(
                model, batch: 64, imageShape: [1, 28, 28], prefetch: 2,
                ranksOnNode: 1, limit: bytes))
        XCTAssertThrowsError(
            try MemoryBudget.checkTraining(
                model, batch: 64, imageShape: [1, 28, 28], prefetch: 2,
                ranksOnNode: 1, limit: bytes - 1))
        // Four ranks on the node need four times as much.
        XCTAssertThrowsError(
            try MemoryBudget.checkTraining(
                model, batch: 64, imageShape: [1, 28, 28], prefetch: 2,
                ranksOnNode: 4, limit: 3 * bytes)
        ) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "lenet5 on batches of 64 images of 1x28x28 per rank, 4 rank(s) on this "
                        + "machine (parameters, gradients, momentum, activations and input batches) needs at least "),
                "\(error)")
            XCTAssertEqual(ExitStatus.of(error), ExitStatus.inputError)
        }
    }

    func testACustomLayerTooLargeForMemoryIsRefusedBeforeItIsAllocated() {
        // 3000x3000 inputs to 10^6 outputs: terabytes on any machine.
        XCTAssertThrowsError(
            try CustomModelBuilder.checkWeights(
                3000 * 3000 * 1_000_000,
                {
                    ConfigError(source: "test", line: nil, message: $0)
                })
        ) { error in
            XCTAssertTrue(
                "\(error)".contains("9e+12 weights need 98 TiB with their gradients and momentum"), "\(error)")
        }
        XCTAssertNoThrow(
            try CustomModelBuilder.checkWeights(84 * 10, { ConfigError(source: "t", line: nil, message: $0) }))
    }

    func testATrainerRefusesABatchThatCannotFitBeforeTraining() throws {
        // As on a machine with 64 MiB: LeNet-5 at 4096 images per step needs about 190 MiB.
        let machine = MemoryBudget.available
        MemoryBudget.available = 64 * 1_048_576
        defer { MemoryBudget.available = machine }
        var config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("memory-batch"))
        config.training.batchSize = 4096
        XCTAssertThrowsError(try Trainer(config: config, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("lenet5 on batches of 4096 images of 1x28x28 per rank"), "\(error)")
            XCTAssertTrue("\(error)".contains("this machine has 64 MiB"), "\(error)")
        }
        config.training.batchSize = 64
        XCTAssertNoThrow(try Trainer(config: config, log: { _ in }))
    }
}
