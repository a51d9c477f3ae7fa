import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Datasets
@testable import Train

/// Resuming continues a run exactly: same world size → bitwise-identical parameters to a
/// run never interrupted, whether it stopped at a step limit, by SIGTERM, or because a
/// rank was killed. Digests are the checkpoints' SHA-256 of all tensor data (weights and
/// momentum).
final class ResumeTests: XCTestCase {
    /// 10 steps per epoch, 3 epochs, checkpoints every 4 steps (so some fall mid-epoch).
    func config(_ directory: String, epochs: Int = 3) -> TrainConfig {
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: epochs)
        config.checkpoint.everySteps = 4
        return config
    }

    func finalDigest(_ directory: String) throws -> String {
        let latest = try String(contentsOfFile: directory + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try CheckpointFile.load(path: directory + "/checkpoints/" + latest).tensorDigest()
    }

    func metricsLines(_ directory: String) throws -> [[String: Any]] {
        try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testResumeMidEpochIsBitwiseIdentical() throws {
        for workers in [nil, 4] as [Int?] {
            let whole = ProcessRunner.temporaryDirectory("whole"), parts = ProcessRunner.temporaryDirectory("parts")
            let uninterrupted = try TrainingLauncher.run(config: config(whole), workers: workers, log: { _ in })
            var first = config(parts)
            first.training.maxSteps = 13  // epoch 2, batch 3
            try TrainingLauncher.run(config: first, workers: workers, log: { _ in })
            XCTAssertEqual(try String(contentsOfFile: parts + "/checkpoints/latest", encoding: .utf8), "step-000000013.safetensors\n")
            var lines: [String] = []
            let resumed = try TrainingLauncher.run(config: config(parts), workers: workers,
                                                   options: StartOptions(resume: .latest), log: { lines.append($0) })
            XCTAssertEqual(try finalDigest(parts), try finalDigest(whole), "workers \(String(describing: workers))")
            XCTAssertTrue(lines.contains { $0.hasPrefix("resumed from \(parts)/checkpoints/step-000000013.safetensors at epoch 2, step 13") },
                          "\(lines)")
            // The resumed epochs report what the uninterrupted run reported (the epoch's
            // training sums travel in the checkpoint), apart from time and speed.
            XCTAssertEqual(resumed.map(\.epoch), [2, 3])
            for (a, b) in zip(resumed, uninterrupted.suffix(2)) {
                XCTAssertEqual(a.trainLoss, b.trainLoss)
                XCTAssertEqual(a.trainAccuracy, b.trainAccuracy)
                XCTAssertEqual(a.validationAccuracy, b.validationAccuracy)
                XCTAssertEqual(a.learningRate, b.learningRate)
            }
            // metrics.jsonl continues: epoch 1 from the first session, 2 and 3 from the second.
            let records = try metricsLines(parts)
            XCTAssertEqual(records.map { $0["epoch"] as? Int }, [1, 2, 3])
            XCTAssertEqual(records[1]["resumed_at_step"] as? Int, 13)
            XCTAssertNil(records[2]["resumed_at_step"])
            // metrics.csv follows: a header, then epochs 1, 2, 3 with the JSON's values.
            let csv = try String(contentsOfFile: parts + "/metrics.csv", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(csv.first, "epoch,step,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_top5_accuracy,"
                + "images_per_sec,time,lr_drop_from,lr_drop_to,resumed_at_step,replaced_images")
            let cells = csv.map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            XCTAssertEqual(cells.dropFirst().map { $0[0] }, ["1", "2", "3"])
            XCTAssertEqual(cells[2][12], "13")
            XCTAssertEqual(Double(cells[3][3]), records[2]["train_loss"] as? Double)
        }
    }

    /// Dropout masks (seed, step, rank) and BatchNorm running statistics (rank 0's, broadcast
    /// each step) replay exactly too.
    func testResumeWithDropoutAndBatchNormIsBitwiseIdentical() throws {
        let layers = try TrainConfig.parse(yaml: """
        model:
          layers: [conv2d: {out: 8, kernel: 5, padding: 2}, batchnorm2d, relu, maxpool2d: {kernel: 2}, flatten,
                   dropout: {p: 0.3}, linear: {out: 32}, relu, dropout, linear]
        """, source: "layers.yaml", knownModels: Catalog.models).model
        func bnConfig(_ directory: String) -> TrainConfig {
            var c = config(directory, epochs: 2)
            c.model = layers
            return c
        }
        let whole = ProcessRunner.temporaryDirectory("bn-whole"), parts = ProcessRunner.temporaryDirectory("bn-parts")
        try TrainingLauncher.run(config: bnConfig(whole), workers: 2, log: { _ in })
        var first = bnConfig(parts)
        first.training.maxSteps = 7
        try TrainingLauncher.run(config: first, workers: 2, log: { _ in })
        try TrainingLauncher.run(config: bnConfig(parts), workers: 2, options: StartOptions(resume: .latest), log: { _ in })
        XCTAssertEqual(try finalDigest(parts), try finalDigest(whole))
        let weights = try SafeTensors.read(path: whole + "/model.safetensors")
        XCTAssertEqual(weights["1.num_batches_tracked"]?.values, [20])
    }

    /// With augmentation on (pad-and-crop, flip) and batches made ahead on the background
    /// queue, a run stopped mid-epoch and resumed ends bit for bit where one never stopped
    /// (and where one making every batch on the training thread ends).
    func testResumeMidEpochWithAugmentationIsBitwiseIdentical() throws {
        func augmented(_ directory: String, prefetch: Int) -> TrainConfig {
            var c = config(directory, epochs: 2)
            c.data.augment = AugmentSection(randomCrop: RandomCrop(size: 28, padding: 3), horizontalFlip: true)
            c.data.prefetch = prefetch
            return c
        }
        let whole = ProcessRunner.temporaryDirectory("augment-whole"), parts = ProcessRunner.temporaryDirectory("augment-parts")
        let plain = ProcessRunner.temporaryDirectory("augment-plain")
        try TrainingLauncher.run(config: augmented(whole, prefetch: 0), workers: 2, log: { _ in })
        var first = augmented(parts, prefetch: 2)
        first.training.maxSteps = 13
        try TrainingLauncher.run(config: first, workers: 2, log: { _ in })
        try TrainingLauncher.run(config: augmented(parts, prefetch: 2), workers: 2, options: StartOptions(resume: .latest), log: { _ in })
        XCTAssertEqual(try finalDigest(parts), try finalDigest(whole))
        var unaugmented = config(plain, epochs: 2)
        unaugmented.data.prefetch = 0
        try TrainingLauncher.run(config: unaugmented, workers: 2, log: { _ in })
        XCTAssertNotEqual(try finalDigest(plain), try finalDigest(whole), "augmentation changes training")
    }

    func testResumeFromAnOlderCheckpointOrIntoAnotherDirectory() throws {
        let whole = ProcessRunner.temporaryDirectory("older-whole")
        var run = config(whole)
        run.checkpoint.keepLast = 10
        try TrainingLauncher.run(config: run, log: { _ in })
        let expected = try finalDigest(whole)
        // Back to step 12 in the same directory: epochs 2 and 3 are trained again and listed once.
        try TrainingLauncher.run(config: run, options: StartOptions(resume: .path(whole + "/checkpoints/step-000000012.safetensors")),
                                 log: { _ in })
        XCTAssertEqual(try metricsLines(whole).map { $0["epoch"] as? Int }, [1, 2, 3])
        XCTAssertEqual(try finalDigest(whole), expected)
        // From step 24 into a new run directory: metrics.jsonl starts there with epoch 3.
        let other = ProcessRunner.temporaryDirectory("older-other")
        try TrainingLauncher.run(config: config(other), options: StartOptions(resume: .path(whole + "/checkpoints/step-000000024.safetensors")),
                                 log: { _ in })
        XCTAssertEqual(try metricsLines(other).map { $0["epoch"] as? Int }, [3])
        XCTAssertEqual(try finalDigest(other), expected)
    }

    func testResumeAtAnotherWorldSize() throws {
        let four = ProcessRunner.temporaryDirectory("four"), two = ProcessRunner.temporaryDirectory("two")
        try TrainingLauncher.run(config: config(four, epochs: 2), workers: 4, log: { _ in })
        var first = config(two, epochs: 2)
        first.training.maxSteps = 8
        try TrainingLauncher.run(config: first, workers: 4, log: { _ in })
        var lines: [String] = []
        try TrainingLauncher.run(config: config(two, epochs: 2), workers: 2, options: StartOptions(resume: .latest),
                                 log: { lines.append($0) })
        XCTAssertTrue(lines.contains { $0.hasPrefix("note: checkpoint was written by 4 rank(s), resuming on 2") }, "\(lines)")
        // Same global batch and sample order: equal up to the order of the gradient sums.
        let a = try SafeTensors.read(path: four + "/model.safetensors"), b = try SafeTensors.read(path: two + "/model.safetensors")
        var worst: Float = 0
        for (x, y) in zip(a.tensors, b.tensors) {
            for (u, v) in zip(x.values, y.values) { worst = max(worst, abs(u - v) / max(abs(u), abs(v), 1e-2)) }
        }
        XCTAssertLessThan(worst, 1e-3)
        XCTAssertEqual(b.metadata["world_size"], "2")
    }

    func testMaxStepsZeroSavesTheInitialModel() throws {
        let directory = ProcessRunner.temporaryDirectory("max-steps-0")
        var zero = config(directory)
        zero.training.maxSteps = 0
        XCTAssertEqual(try TrainingLauncher.run(config: zero, log: { _ in }), [])
        let checkpoint = try CheckpointFile.load(path: directory + "/checkpoints/step-000000000.safetensors")
        XCTAssertEqual(checkpoint.file.tensors.count, 10, "no momentum before the first step")
        XCTAssertEqual(checkpoint.metadata["global_step"], "0")
        // The same initial weights as any run with this seed starts from: PyTorch's init, seeded.
        let other = ProcessRunner.temporaryDirectory("max-steps-0-again")
        var again = config(other)
        again.training.maxSteps = 0
        again.checkpoint.everySteps = 0
        try TrainingLauncher.run(config: again, log: { _ in })
        XCTAssertEqual(try SafeTensors.read(path: other + "/model.safetensors").tensors, checkpoint.file.tensors)
        let bound = 1 / Float(25).squareRoot()  // conv1: fan-in 1·5·5, Kaiming-uniform(a=√5) bound = 1/√fan_in
        let conv1 = try XCTUnwrap(checkpoint.file["conv1.weight"])
        XCTAssertTrue(conv1.values.allSatisfy { abs($0) <= bound } && conv1.values.contains { abs($0) > bound / 2 })
    }

    func testFreshRunRefusesARunDirectoryWithCheckpoints() throws {
        let directory = ProcessRunner.temporaryDirectory("occupied")
        var first = config(directory)
        first.training.maxSteps = 4
        try TrainingLauncher.run(config: first, log: { _ in })
        let before = try finalDigest(directory)
        XCTAssertThrowsError(try TrainingLauncher.run(config: config(directory), log: { _ in })) {
            XCTAssertEqual("\($0)", "run directory \(directory): already holds a run's checkpoints; "
                + "continue it with --resume, or choose another --run-dir (or none: each run gets a new folder)")
        }
        XCTAssertEqual(try finalDigest(directory), before)
        XCTAssertThrowsError(try TrainingLauncher.run(config: config(ProcessRunner.temporaryDirectory("empty")),
                                                      options: StartOptions(resume: .latest), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("/checkpoints/latest: cannot be read"), "\($0)")
        }
    }

    /// A checkpoint mid-epoch at batch 8 of 10 cannot continue in epochs of 2 batches (a larger
    /// batch size): refused, naming both, instead of indexing past the epoch.
    func testResumeRefusesABatchPositionPastTheEpoch() throws {
        let directory = ProcessRunner.temporaryDirectory("batch-position")
        var first = config(directory)
        first.training.maxSteps = 8
        try TrainingLauncher.run(config: first, log: { _ in })
        var larger = config(directory)
        larger.training.batchSize = 256
        // Allowed past the config check (which refuses a new batch size by itself), the position check remains.
        let resume = StartOptions(resume: .latest, allowConfigChange: true)
        XCTAssertThrowsError(try TrainingLauncher.run(config: larger, options: resume, log: { _ in })) {
            XCTAssertTrue("\($0)".hasSuffix("does not fit this run: it stopped at batch 8 of an epoch, and this run's "
                + "epochs have 2 batches (another batch size or data set?)"), "\($0)")
        }
    }

    func testResumeRefusesACheckpointOfAnotherModel() throws {
        let directory = ProcessRunner.temporaryDirectory("other-model")
        var first = config(directory)
        first.training.maxSteps = 2
        try TrainingLauncher.run(config: first, log: { _ in })
        var other = config(directory)
        // A larger head: fewer classes than the labels is refused before any checkpoint is read.
        other.model.classes = 12
        let path = directory + "/checkpoints/step-000000002.safetensors"
        let allowed = StartOptions(resume: .path(path), allowConfigChange: true)
        XCTAssertThrowsError(try TrainingLauncher.run(config: other, options: allowed, log: { _ in })) {
            XCTAssertEqual("\($0)", "\(path): does not fit this run: it holds model lenet5 for input 1x28x28 and 10 classes; "
                + "this run builds lenet5 for 1x28x28 and 12 classes")
        }
        // --init-from checks strictly and lists every mismatch, as load_state_dict(strict=True).
        let fresh = ProcessRunner.temporaryDirectory("init-from")
        XCTAssertThrowsError(try TrainingLauncher.run(config: { var c = other; c.runDirectory = fresh; return c }(),
                                                      options: StartOptions(initFrom: path), log: { _ in })) {
            XCTAssertEqual("\($0)", "\(path): does not fit this run: its tensors do not match model lenet5: "
                + "wrong shape: fc2.weight (file [10, 84], model [12, 84]), fc2.bias (file [10], model [12])")
        }
        let partial = directory + "/partial.safetensors"
        let file = try SafeTensors.read(path: path)
        var tensors = file.tensors.filter { $0.name != "conv1.bias" && !$0.name.hasPrefix("optimizer.") }
        tensors.append(SafeTensors.Entry(name: "extra.weight", shape: [1], values: [0]))
        try write(tensors, to: partial)
        XCTAssertThrowsError(try TrainingLauncher.run(config: { var c = config(fresh); c.runDirectory = fresh; return c }(),
                                                      options: StartOptions(initFrom: partial), log: { _ in })) {
            XCTAssertEqual("\($0)", "\(partial): does not fit this run: its tensors do not match model lenet5: "
                + "missing: conv1.bias; unexpected: extra.weight")
        }
    }

    func write(_ tensors: [SafeTensors.Entry], to path: String) throws {
        var buffers = tensors.map(\.values)
        let data = buffers.indices.map { i in buffers[i].withUnsafeBufferPointer { $0 } }
        let bytes = SafeTensors.encode(tensors: zip(tensors, data).map { ($0.name, $0.shape, $1) }, metadata: [:])
        try bytes.write(to: URL(fileURLWithPath: path))
        buffers.removeAll()
    }

    func testInitFromLoadsWeightsOnly() throws {
        let source = ProcessRunner.temporaryDirectory("init-source"), target = ProcessRunner.temporaryDirectory("init-target")
        var first = config(source)
        first.training.maxSteps = 5
        try TrainingLauncher.run(config: first, log: { _ in })
        var finetune = config(target, epochs: 1)
        finetune.training.maxSteps = 0
        finetune.training.seed = 99
        var lines: [String] = []
        try TrainingLauncher.run(config: finetune, options: StartOptions(initFrom: source + "/checkpoints/step-000000005.safetensors"),
                                 log: { lines.append($0) })
        let loaded = try CheckpointFile.load(path: target + "/checkpoints/step-000000000.safetensors")
        let original = try SafeTensors.read(path: source + "/checkpoints/step-000000005.safetensors")
        XCTAssertEqual(loaded.file.tensors, original.tensors.filter { !$0.name.hasPrefix("optimizer.") })
        XCTAssertEqual(loaded.metadata["global_step"], "0", "fine-tuning starts at step 0 with fresh momentum")
        XCTAssertTrue(lines.contains("initialised weights from \(source)/checkpoints/step-000000005.safetensors"), "\(lines)")
    }

    func testNoShuffleTrainsInFileOrder() throws {
        // Without shuffling the seed no longer orders the data: two seeds starting from the
        // same weights (--init-from) give the same run. (MNIST: the synthetic set itself
        // is drawn from the seed.)
        let mnist = TrainingFixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path
        func mnistConfig(_ directory: String, seed: UInt64, shuffle: Bool) -> TrainConfig {
            var run = config(directory, epochs: 1)
            run.data.dataset = "mnist"
            run.data.path = mnist
            run.data.shuffle = shuffle
            run.training.seed = seed
            run.training.maxSteps = 20
            return run
        }
        let base = ProcessRunner.temporaryDirectory("no-shuffle-init")
        var initial = mnistConfig(base, seed: 1, shuffle: false)
        initial.training.maxSteps = 0
        try TrainingLauncher.run(config: initial, log: { _ in })
        let weights = StartOptions(initFrom: base + "/checkpoints/step-000000000.safetensors")
        var digests: [String: String] = [:]
        for (seed, shuffle) in [(1, false), (2, false), (1, true), (2, true)] as [(UInt64, Bool)] {
            let directory = ProcessRunner.temporaryDirectory("no-shuffle")
            try TrainingLauncher.run(config: mnistConfig(directory, seed: seed, shuffle: shuffle), options: weights, log: { _ in })
            digests["\(seed) \(shuffle)"] = try finalDigest(directory)
        }
        XCTAssertEqual(digests["1 false"], digests["2 false"])
        XCTAssertNotEqual(digests["1 true"], digests["2 true"], "with shuffling the seed orders the data")
    }
}
