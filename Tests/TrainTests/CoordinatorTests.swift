import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Train

/// Rank 0's decisions in a real run: learning-rate schedules, plateau drops (logged and in
/// metrics.jsonl), early stopping and the best checkpoint, identical on every rank.
final class CoordinatorTests: XCTestCase {
    func metrics(_ directory: String) throws -> [[String: Any]] {
        try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testPlateauDropsOnFourRanks() throws {
        let directory = ProcessRunner.temporaryDirectory("plateau")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 4)
        config.lrSchedule.name = .plateau
        config.lrSchedule.patience = 0
        // Only a fall of more than 100 in validation loss counts: every epoch after the
        // first is a bad one, so each drops the rate, down to min_lr.
        config.lrSchedule.thresholdMode = .abs
        config.lrSchedule.threshold = 100
        config.lrSchedule.minLR = 0.001
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config, workers: 4, log: { lines.append($0) })
        // 0.05 × 0.1 in Double arithmetic, as torch computes it (0.005000000000000001).
        let dropped = 0.05 * 0.1
        XCTAssertEqual(history.map(\.learningRate), [0.05, 0.05, dropped, 0.001])
        XCTAssertEqual(history.map { $0.learningRateDrop?.old }, [nil, 0.05, dropped, nil])
        XCTAssertEqual(history.map { $0.learningRateDrop?.new }, [nil, dropped, 0.001, nil],
                       "0.001 is min_lr; a drop smaller than eps is skipped")
        let drops = lines.filter { $0.hasPrefix("plateau: ") }
        XCTAssertEqual(drops.count, 2, "\(lines)")
        XCTAssertTrue(drops[0].hasPrefix("plateau: epoch 2 val_loss "), drops[0])
        XCTAssertTrue(drops[0].hasSuffix(" did not improve; learning rate 0.05 → 0.005"), drops[0])
        let records = try metrics(directory)
        let drop = try XCTUnwrap(records[1]["lr_drop"] as? [String: Double])
        XCTAssertEqual(drop["from"], 0.05)
        XCTAssertEqual(drop["to"] ?? 0, dropped, accuracy: 1e-15)
        XCTAssertNil(records[0]["lr_drop"])
        XCTAssertNotNil(records[0]["val_top5_accuracy"])
        // The plateau state travels in the checkpoint for an exact resume.
        let last = try CheckpointFile.load(path: directory + "/checkpoints/step-000000040.safetensors")
        XCTAssertEqual(last.metadata["scheduler.plateau.lr"], "0.001")
        XCTAssertEqual(last.metadata["scheduler.plateau.num_bad_epochs"], "0")
        XCTAssertEqual(last.metadata["learning_rate"], "0.001")
        XCTAssertTrue(lines.contains("replicas verified identical on all 4 ranks at step 40"))
    }

    func testEarlyStoppingKeepsTheBestCheckpoint() throws {
        let directory = ProcessRunner.temporaryDirectory("early-stop")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 10)
        config.validation.monitor = .validationAccuracy
        config.earlyStopping.patience = 2
        config.earlyStopping.threshold = 2  // accuracy cannot rise by 2: only epoch 1 improves
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config, log: { lines.append($0) })
        XCTAssertEqual(history.map(\.epoch), [1, 2, 3])
        XCTAssertTrue(lines.contains("early stopping: val_accuracy has not improved for 2 epoch(s)"), "\(lines)")
        let best = try CheckpointFile.load(path: directory + "/checkpoints/best.safetensors")
        XCTAssertEqual(best.metadata["global_step"], "10")
        XCTAssertEqual(Double(try XCTUnwrap(best.metadata["best_metric"])), history[0].validationAccuracy)
        let stopped = try CheckpointFile.load(path: directory + "/checkpoints/step-000000030.safetensors")
        XCTAssertEqual(stopped.metadata["scheduler.best.epochs_without_improvement"], "2")
        XCTAssertEqual(try metrics(directory).count, 3)
    }

    func testMultiStepScheduleWithWarmupAndStepValidation() throws {
        let directory = ProcessRunner.temporaryDirectory("multistep")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 3)
        config.lrSchedule.name = .multistep
        config.lrSchedule.milestones = [2]
        config.lrSchedule.warmupSteps = 5
        config.lrSchedule.warmupStartFactor = 0.2
        config.validation.everySteps = 5
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config, workers: 2, log: { lines.append($0) })
        // torch MultiStepLR: milestone 2 is the third epoch (0-based epoch 2).
        XCTAssertEqual(history.map(\.learningRate), [0.05, 0.05, 0.05 * 0.1])
        XCTAssertEqual(lines.filter { $0.hasPrefix("  step ") && $0.contains(" val loss ") }.count, 6, "\(lines)")
    }
}
