import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Distributed
@testable import NN
@testable import Train

/// Transfer learning: `--init-from` with `--reset-head` / `init.exclude`, and `training.freeze`.
final class FineTuningTests: XCTestCase {
    private let lenetParameters = [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
        "conv3.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
    ]

    /// LeNet-5 weights for `classes` outputs, initialised from `seed`, as `checkpoint init` writes them.
    private func sourceWeights(classes: Int, seed: UInt64) throws -> String {
        let path = ProcessRunner.temporaryDirectory("finetune-source") + "/lenet5-\(classes).safetensors"
        try InitialWeights.write(try Catalog.makeModel("lenet5", classes: classes), seed: seed, to: path)
        return path
    }

    /// The weights a run starts from (max_steps 0 saves the initial model).
    private func startingWeights(_ config: TrainConfig, _ options: StartOptions) throws -> (SafeTensors.File, [String])
    {
        var start = config
        start.training.maxSteps = 0
        var lines: [String] = []
        try TrainingLauncher.run(config: start, options: options, log: { lines.append($0) })
        return (try SafeTensors.read(path: (config.runDirectory ?? "") + "/model.safetensors"), lines)
    }

    func testHeadOfZooModels() throws {
        XCTAssertEqual(ParameterPatterns.head(of: try Catalog.makeModel("lenet5")), ["fc2.*"])
        XCTAssertEqual(ParameterPatterns.head(of: try Catalog.makeModel("resnet18")), ["fc.*"])
        XCTAssertEqual(ParameterPatterns.head(of: try Catalog.makeModel("alexnet")), ["classifier.6.*"])
        XCTAssertEqual(ParameterPatterns.head(of: try Catalog.makeModel("vgg16")), ["classifier.6.*"])
    }

    func testResetHeadLoadsAllButTheClassifierForAnotherClassCount() throws {
        // Weights for 12 classes, fine-tuned on the synthetic set's 10: fc2 has another shape.
        let source = try sourceWeights(classes: 12, seed: 3)
        let directory = ProcessRunner.temporaryDirectory("reset-head")
        let config = TrainingFixtures.smallSynthetic(runDirectory: directory)
        XCTAssertThrowsError(try startingWeights(config, StartOptions(initFrom: source))) { error in
            XCTAssertTrue("\(error)".contains("wrong shape: fc2.weight (file [12, 84], model [10, 84])"), "\(error)")
        }
        let (started, lines) = try startingWeights(config, StartOptions(initFrom: source, resetHead: true))
        let file = try SafeTensors.read(path: source)
        for name in lenetParameters.dropLast(2) {
            XCTAssertEqual(started[name]?.values, file[name]?.values, "\(name) must be loaded")
        }
        // The new head is what a fresh run with the training seed starts from.
        let fresh = try InitialWeights.write(
            try Catalog.makeModel("lenet5", classes: 10), seed: 5,
            to: directory + "/fresh.safetensors")
        XCTAssertEqual(fresh.tensors, 10)
        let freshFile = try SafeTensors.read(path: directory + "/fresh.safetensors")
        XCTAssertEqual(started["fc2.weight"]?.values, freshFile["fc2.weight"]?.values)
        XCTAssertEqual(started["fc2.bias"]?.values, freshFile["fc2.bias"]?.values)
        XCTAssertTrue(
            lines.contains("initialised weights from \(source), except fc2.* (freshly initialised)"), "\(lines)")
        // The run's config records the exclusion.
        let resolved = try TrainConfig.load(file: directory + "/config.yaml", knownModels: Catalog.models)
        XCTAssertEqual(resolved.initialization.exclude, ["fc2.*"])
    }

    func testInitExcludePatternsAreCheckedAndApplied() throws {
        let source = try sourceWeights(classes: 10, seed: 3)
        var config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("exclude"))
        config.initialization.exclude = ["conv*.bias"]
        let (started, _) = try startingWeights(config, StartOptions(initFrom: source))
        let file = try SafeTensors.read(path: source)
        XCTAssertEqual(started["conv1.weight"]?.values, file["conv1.weight"]?.values)
        XCTAssertNotEqual(started["conv1.bias"]?.values, file["conv1.bias"]?.values, "excluded: fresh, seed 5 not 3")
        XCTAssertEqual(started["fc2.bias"]?.values, file["fc2.bias"]?.values)

        config.runDirectory = ProcessRunner.temporaryDirectory("exclude-typo")
        config.initialization.exclude = ["classifier.*"]
        XCTAssertThrowsError(try startingWeights(config, StartOptions(initFrom: source))) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "'init.exclude': pattern 'classifier.*' matches no parameter of the model "
                        + "(its parameters: conv1.weight, conv1.bias, conv2.weight"), "\(error)")
            XCTAssertEqual(ExitStatus.of(error), ExitStatus.inputError)
        }
        XCTAssertThrowsError(try startingWeights(config, StartOptions(resetHead: true))) { error in
            XCTAssertEqual(
                "\(error)",
                "--reset-head re-initialises the classifier of weights loaded with --init-from: "
                    + "give --init-from PATH")
        }
    }

    func testFrozenParametersStayFixedAndTheRestTrain() throws {
        let directory = ProcessRunner.temporaryDirectory("freeze")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 1)
        config.training.freeze = ["conv*", "fc1.bias"]
        config.optimizer.weightDecay = 0.01  // decay would move frozen weights if it reached them
        var lines: [String] = []
        try TrainingLauncher.run(config: config, log: { lines.append($0) })
        var initial = config
        initial.runDirectory = ProcessRunner.temporaryDirectory("freeze-initial")
        let (start, _) = try startingWeights(initial, StartOptions())
        let trained = try CheckpointFile.load(path: directory + "/checkpoints/step-000000010.safetensors")
        let frozen = [
            "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
            "fc1.bias",
        ]
        for name in lenetParameters {
            if frozen.contains(name) {
                XCTAssertEqual(trained.file[name]?.values, start[name]?.values, "\(name) is frozen")
                XCTAssertNil(trained.file[CheckpointFile.momentumPrefix + name], "no momentum for frozen \(name)")
            } else {
                XCTAssertNotEqual(trained.file[name]?.values, start[name]?.values, "\(name) trains")
                XCTAssertNotNil(trained.file[CheckpointFile.momentumPrefix + name])
            }
        }
        XCTAssertTrue(lines.contains("frozen (training.freeze): 7 parameter tensors, 50776 values"), "\(lines)")

        config.training.freeze = ["features.*"]
        config.runDirectory = ProcessRunner.temporaryDirectory("freeze-typo")
        XCTAssertThrowsError(try TrainingLauncher.run(config: config, log: { _ in })) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix("'training.freeze': pattern 'features.*' matches no parameter"), "\(error)")
        }
    }

    /// Unfreezing on a multi-rank resume: the checkpoint has momentum only for the parameters
    /// that trained; every rank must hold rank 0's pattern (fresh buffers for the rest), or the
    /// broadcasts mismatch and the replicas drift.
    func testUnfreezingOnAMultiRankResumeKeepsReplicasIdentical() throws {
        let directory = ProcessRunner.temporaryDirectory("unfreeze")
        var frozen = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 2)
        frozen.training.freeze = ["conv*"]
        frozen.training.maxSteps = 5
        try TrainingLauncher.run(config: frozen, workers: 2, log: { _ in })
        var unfrozen = frozen
        unfrozen.training.freeze = []
        unfrozen.training.maxSteps = nil
        var lines: [String] = []
        let lock = NSLock()
        let history = try TrainingLauncher.run(
            config: unfrozen, workers: 2, options: StartOptions(resume: .latest, allowConfigChange: true),
            log: { line in lock.withLock { lines.append(line) } })
        XCTAssertEqual(history.last?.step, 20)
        XCTAssertTrue(lines.contains("replicas verified identical on all 2 ranks at step 20"), "\(lines)")
        let trained = try CheckpointFile.load(path: directory + "/checkpoints/step-000000020.safetensors")
        XCTAssertNotNil(trained.file[CheckpointFile.momentumPrefix + "conv1.weight"], "unfrozen: it has momentum now")
    }

    /// A resumed run checks its own micro-batch count against the ranks it resumes on.
    func testResumingMicroBatchesOnMoreRanksIsCheckedWithTheRunsConfig() throws {
        let directory = ProcessRunner.temporaryDirectory("micro-resume")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 2)
        config.training.microBatches = 16
        config.training.maxSteps = 2
        try TrainingLauncher.run(config: config, log: { _ in })
        // Resumed without a config (the defaults: micro_batches 1) on 8 ranks: 8 images each.
        let communicators = try InProcessCommunicator.makeGroup(size: 8)
        let errors = RankResults<String?>(ranks: 8, initial: nil)
        let done = DispatchGroup()
        var plain = TrainConfig()
        plain.runDirectory = directory
        for communicator in communicators {
            done.enter()
            Thread.detachNewThread {
                do {
                    _ = try Trainer(config: plain, communicator: communicator,
                                    options: StartOptions(resume: .latest, configFileGiven: false), logger: .silent)
                } catch {
                    errors.store("\(error)", rank: communicator.rank)
                }
                done.leave()
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
        for rank in 0..<8 {
            XCTAssertEqual(errors.value(rank: rank), "training.micro_batches 16 does not divide each rank's 8 images "
                + "of a batch (training.batch_size 64 over 8 ranks) into equal micro-batches", "rank \(rank)")
        }
    }
}
