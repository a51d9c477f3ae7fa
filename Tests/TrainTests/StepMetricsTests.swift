import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Train

/// steps.jsonl: a record every `metrics.every_steps` steps, step-level validations, and the
/// cut after the resumed step on a resume.
final class StepMetricsTests: XCTestCase {
    func records(_ directory: String) throws -> [[String: Any]] {
        try String(contentsOfFile: directory + "/steps.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// 10 steps per epoch, 2 epochs; a record every 3 steps, a validation every 5.
    func config(_ directory: String) -> TrainConfig {
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 2)
        config.metrics.everySteps = 3
        config.validation.everySteps = 5
        config.logEvery = 0
        return config
    }

    func testStepRecordsAtTheIntervalWithValidations() throws {
        let directory = ProcessRunner.temporaryDirectory("steps")
        try TrainingLauncher.run(config: config(directory), workers: 2, log: { _ in })
        let all = try records(directory)
        let training = all.filter { $0["loss"] != nil }, validations = all.filter { $0["val_loss"] != nil }
        XCTAssertEqual(training.map { $0["step"] as? Int }, [3, 6, 9, 12, 15, 18])
        XCTAssertEqual(training.map { $0["epoch"] as? Double }, [0.3, 0.6, 0.9, 1.2, 1.5, 1.8])
        for record in training {
            for key in ["lr", "loss", "accuracy", "images_per_sec", "allreduce_wait_seconds", "time"] {
                XCTAssertNotNil(record[key] as? Double, "\(key) in \(record)")
            }
            XCTAssertEqual(record["lr"] as? Double, 0.05)
            let accuracy = record["accuracy"] as! Double
            // One step's accuracy over the global batch of 64: a multiple of 1/64.
            XCTAssertEqual((accuracy * 64).rounded(), accuracy * 64, accuracy: 1e-9)
        }
        XCTAssertEqual(validations.map { $0["step"] as? Int }, [5, 10, 15, 20])
        XCTAssertEqual(validations.map { $0["epoch"] as? Double }, [0.5, 1.0, 1.5, 2.0])
        XCTAssertNotNil(validations[0]["val_top5_accuracy"] as? Double)
        // The epoch-end validation at step 10 is the same evaluation metrics.jsonl records.
        let epochs = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(validations[1]["val_loss"] as? Double, epochs[0]["val_loss"] as? Double)
    }

    func testOffWithZero() throws {
        let directory = ProcessRunner.temporaryDirectory("steps-off")
        var settings = config(directory)
        settings.metrics.everySteps = 0
        try TrainingLauncher.run(config: settings, log: { _ in })
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/steps.jsonl"))
    }

    /// Resuming from an older checkpoint drops the abandoned continuation's records, so each step appears once.
    func testResumeCutsTheStreamAfterTheResumedStep() throws {
        let directory = ProcessRunner.temporaryDirectory("steps-resume")
        var settings = config(directory)
        settings.checkpoint.everySteps = 4
        settings.checkpoint.keepLast = 10
        try TrainingLauncher.run(config: settings, log: { _ in })
        let whole = try records(directory).map { $0["step"] as! Int }
        try TrainingLauncher.run(config: settings, options: StartOptions(resume: .path(directory + "/checkpoints/step-000000008.safetensors")),
                                 log: { _ in })
        let resumed = try records(directory).map { $0["step"] as! Int }
        XCTAssertEqual(resumed, whole)
        XCTAssertEqual(resumed, [3, 5, 6, 9, 10, 12, 15, 15, 18, 20])
    }
}
