import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Train

final class TrainerTests: XCTestCase {
    func testLeNetLearnsTheSyntheticShapes() throws {
        let directory = ProcessRunner.temporaryDirectory("learns")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 3_200, epochs: 3)
        config.training.threads = 2
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config, log: { lines.append($0) })
        XCTAssertEqual(history.count, 3)
        XCTAssertEqual(history.map(\.step), [50, 100, 150])
        XCTAssertLessThan(history[2].trainLoss, history[0].trainLoss * 0.6, "training loss must fall: \(history.map(\.trainLoss))")
        // Chance is 10%; three short epochs on 3,200 images already reach far beyond it.
        XCTAssertGreaterThan(history[2].validationAccuracy, 0.6)
        XCTAssertEqual(lines.filter { $0.hasPrefix("epoch ") }.count, 3)
        let firstEpoch = lines.first { $0.hasPrefix("epoch ") } ?? ""
        XCTAssertTrue(firstEpoch.hasPrefix("epoch 1/3  train loss "), firstEpoch)

        // The run directory: resolved config that parses back, one metrics line per epoch, weights.
        let resolved = try TrainConfig.load(file: directory + "/config.yaml", knownModels: Catalog.models)
        XCTAssertEqual(resolved, config.resolved())
        let metrics = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 3)
        let last = try JSONSerialization.jsonObject(with: Data(metrics[2].utf8)) as! [String: Any]
        for key in ["epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "images_per_sec", "time"] {
            XCTAssertNotNil(last[key], "metrics.jsonl lacks \(key)")
        }
        XCTAssertEqual(last["epoch"] as? Int, 3)
        XCTAssertEqual(last["val_accuracy"] as? Double ?? -1, history[2].validationAccuracy, accuracy: 1e-12)
        let weights = try SafeTensors.read(path: directory + "/model.safetensors")
        XCTAssertEqual(weights.tensors.map(\.name), ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                                                      "conv3.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        XCTAssertEqual(weights.tensors.reduce(0) { $0 + $1.values.count }, 61_706)
    }

    /// A TensorBoard events file beside metrics.jsonl (its format: ReportsTests' TensorBoardTests).
    func testTensorBoardEventsBesideTheMetrics() throws {
        let directory = ProcessRunner.temporaryDirectory("tensorboard")
        try TrainingLauncher.run(config: TrainingFixtures.smallSynthetic(runDirectory: directory), log: { _ in })
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1, "\(files)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + (files.first ?? "")))
        for tag in ["loss/validation", "accuracy/validation", "learning_rate", "step/loss", "config", "lenet5"] {
            XCTAssertNotNil(bytes.range(of: Data(tag.utf8)), "no \(tag) in the events file")
        }

        let quiet = ProcessRunner.temporaryDirectory("tensorboard-off")
        var config = TrainingFixtures.smallSynthetic(runDirectory: quiet)
        config.metrics.tensorBoard = false
        try TrainingLauncher.run(config: config, log: { _ in })
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: quiet).contains { $0.contains("tfevents") })
    }

    func testSameSeedSameRunBitForBit() throws {
        let a = ProcessRunner.temporaryDirectory("repeat-a"), b = ProcessRunner.temporaryDirectory("repeat-b")
        try TrainingLauncher.run(config: TrainingFixtures.smallSynthetic(runDirectory: a), log: { _ in })
        try TrainingLauncher.run(config: TrainingFixtures.smallSynthetic(runDirectory: b), log: { _ in })
        XCTAssertEqual(try SafeTensors.read(path: a + "/model.safetensors"), try SafeTensors.read(path: b + "/model.safetensors"))
    }

    func testUnwritableRunDirectoryFailsBeforeTraining() throws {
        let parent = ProcessRunner.temporaryDirectory("readonly")
        XCTAssertTrue(FileManager.default.createFile(atPath: parent + "/file", contents: Data()))
        var lines: [String] = []
        XCTAssertThrowsError(try TrainingLauncher.run(
            config: TrainingFixtures.smallSynthetic(runDirectory: parent + "/file/run"), log: { lines.append($0) })) {
            XCTAssertTrue("\($0)".hasPrefix("run directory \(parent)/file/run: cannot be created"), "\($0)")
        }
        XCTAssertEqual(lines, [], "nothing may run before the run directory is known to be usable")
    }

}
