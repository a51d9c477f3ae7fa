import Foundation
import Reports
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Datasets
@testable import Train

/// Training from image files: a PNG copy of MNIST trains exactly as the IDX files, an
/// image-folder run resumes bit for bit, and the class names reach the run and its checkpoints.
final class ImageFolderTrainingTests: XCTestCase {
    func finalDigest(_ directory: String) throws -> String {
        let latest = try String(contentsOfFile: directory + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try CheckpointFile.load(path: directory + "/checkpoints/" + latest).tensorDigest()
    }

    /// ../shared/data/mnist written as PNG files with list files in the IDX order: the same
    /// samples under the same indices, so the same seed trains to identical tensors.
    func testPNGCopyOfMNISTTrainsToTheSameTensors() throws {
        let mnist = TrainingFixtures.repositoryRoot.deletingLastPathComponent().appendingPathComponent(
            "shared/data/mnist"
        ).path
        let (train, validation) = try MNIST.load(directory: mnist, trainSplit: 8_000)
        let folder = ProcessRunner.temporaryDirectory("mnist-png")
        for (split, images) in [("train", train), ("val", validation)] {
            var lines: [String] = []
            for index in 0..<images.count {
                let pixels = images.pixels[(index * 784)..<((index + 1) * 784)].map { UInt8(($0 * 255).rounded()) }
                let name = String(format: "%@/%d/%05d.png", split, images.labels[index], index)
                try FileManager.default.createDirectory(
                    atPath: folder + "/" + (name as NSString).deletingLastPathComponent,
                    withIntermediateDirectories: true)
                let png = try ImageEncoder.png(DecodedImage(width: 28, height: 28, channels: 1, pixels: pixels))
                try Data(png).write(to: URL(fileURLWithPath: folder + "/" + name))
                lines.append("\(name) \(images.labels[index])")
            }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: folder + "/\(split).txt", atomically: true, encoding: .utf8)
        }
        func run(_ configure: (inout TrainConfig) -> Void) throws -> (digest: String, metrics: [EpochMetrics]) {
            let directory = ProcessRunner.temporaryDirectory("mnist-run")
            var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 1)
            config.training.maxSteps = 40
            config.validation.everySteps = 0
            configure(&config)
            let metrics = try TrainingLauncher.run(config: config, workers: 2, log: { _ in })
            return (try finalDigest(directory), metrics)
        }
        let idx = try run { config in
            config.data.dataset = "mnist"
            config.data.path = mnist
        }
        let png = try run { config in
            config.data.dataset = "imagefolder"
            config.data.path = folder
            config.data.trainPath = folder + "/train.txt"
            config.data.validationPath = folder + "/val.txt"
            (config.data.channels, config.data.imageSize, config.data.resize) = (1, 28, 28)
            config.data.normalize = NormalizeSection(mean: [Double(MNIST.mean)], std: [Double(MNIST.std)])
        }
        XCTAssertEqual(png.digest, idx.digest)
        XCTAssertEqual(png.metrics.map(\.validationAccuracy), idx.metrics.map(\.validationAccuracy))
    }

    /// A small folder of photograph-like JPEGs, 3 classes.
    func makeFolder() throws -> String {
        let root = ProcessRunner.temporaryDirectory("image-folder")
        for (split, count) in [("train", 16), ("val", 4)] {
            for (label, name) in ["cat", "dog", "fox"].enumerated() {
                try FileManager.default.createDirectory(
                    atPath: "\(root)/\(split)/\(name)", withIntermediateDirectories: true)
                for index in 0..<count {
                    let image = PhotoLikeImages.make(
                        label: label, classes: 3, index: index + (split == "val" ? 100 : 0),
                        width: 40, height: 30, seed: 3)
                    try Data(try ImageEncoder.jpeg(image, quality: 90)).write(
                        to: URL(fileURLWithPath: "\(root)/\(split)/\(name)/\(index).jpg"))
                }
            }
        }
        return root
    }

    func folderConfig(_ root: String, runDirectory: String) throws -> TrainConfig {
        var config = try TrainConfig.parse(
            yaml: """
                model:
                  layers:
                    - conv2d: {out: 8, kernel: 3, padding: 1}
                    - batchnorm2d
                    - relu
                    - maxpool2d: {kernel: 2}
                    - flatten
                    - dropout: {p: 0.2}
                    - linear: {}
                data:
                  dataset: imagefolder
                  path: \(root)
                  image_size: 16
                  resize: 18
                  workers: 2
                  augment:
                    random_resized_crop: {enabled: true}
                    horizontal_flip: true
                    color_jitter: {brightness: 0.3, contrast: 0.3, saturation: 0.3}
                    lighting: 0.1
                training: {epochs: 3, batch_size: 8, seed: 4, threads: 1}
                checkpoint: {every_steps: 4}
                """, source: "folder.yaml", knownModels: Catalog.models)
        config.runDirectory = runDirectory
        return config
    }

    func testImageFolderRunResumesBitwiseAndRecordsClassNames() throws {
        let root = try makeFolder()
        let whole = ProcessRunner.temporaryDirectory("folder-whole"),
            parts = ProcessRunner.temporaryDirectory("folder-parts")
        try TrainingLauncher.run(config: try folderConfig(root, runDirectory: whole), workers: 2, log: { _ in })
        var first = try folderConfig(root, runDirectory: parts)
        first.training.maxSteps = 7  // mid-epoch 2 (6 steps per epoch)
        try TrainingLauncher.run(config: first, workers: 2, log: { _ in })
        try TrainingLauncher.run(
            config: try folderConfig(root, runDirectory: parts), workers: 2,
            options: StartOptions(resume: .latest), log: { _ in })
        XCTAssertEqual(try finalDigest(parts), try finalDigest(whole))
        XCTAssertEqual(try String(contentsOfFile: whole + "/classes.txt", encoding: .utf8), "cat\ndog\nfox\n")
        let latest = try String(contentsOfFile: whole + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(
            try CheckpointFile.load(path: whole + "/checkpoints/" + latest).info.classNames, ["cat", "dog", "fox"])
    }

    /// An unreadable image stops the run naming it, or with on_bad_image: skip is replaced and counted.
    func testBadImagesStopTheRunOrAreCounted() throws {
        let root = try makeFolder()
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: root + "/train/dog/3.jpg"))
        let stopped = ProcessRunner.temporaryDirectory("folder-bad")
        // One process (a failing rank of in-process workers ends the process, as under mpirun).
        XCTAssertThrowsError(
            try TrainingLauncher.run(
                config: try folderConfig(root, runDirectory: stopped),
                log: { _ in })
        ) { error in
            XCTAssertTrue("\(error)".contains("\(root)/train/dog/3.jpg: neither JPEG nor PNG"), "\(error)")
        }
        var skipping = try folderConfig(root, runDirectory: ProcessRunner.temporaryDirectory("folder-skip"))
        skipping.data.onBadImage = .skip
        let metrics = try TrainingLauncher.run(config: skipping, workers: 2, log: { _ in })
        // Once per epoch, in training (validation has no bad file).
        XCTAssertEqual(metrics.map(\.replacedImages), [1, 1, 1])
    }

    /// `predict` runs each file through the run's validation transform: its probabilities are the
    /// softmax of the logits of the run's own validation batch, and it names the classes.
    func testPredictMatchesTheValidationBatchesAndNamesClasses() throws {
        let root = try makeFolder(), directory = ProcessRunner.temporaryDirectory("folder-predict")
        let config = try folderConfig(root, runDirectory: directory)
        try TrainingLauncher.run(config: config, log: { _ in })
        let latest = try String(contentsOfFile: directory + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let predictor = try Prediction(checkpoint: directory + "/checkpoints/" + latest)
        let files = try Prediction.imageFiles([root + "/val"])
        XCTAssertEqual(files.count, 12)
        let results = predictor.predict(files, topK: 3, batchSize: 5)
        let batch = Batch()
        try RunData(config).makers.validation.make(0..<12, epoch: nil, into: batch)
        let logits = predictor.model.forward(batch.input)
        for (row, result) in results.enumerated() {
            XCTAssertNil(result.error)
            XCTAssertEqual(result.top.map(\.probability).reduce(0, +), 1, accuracy: 1e-9)
            let values = (0..<3).map { Double(logits.pointer[row * 3 + $0]) }
            let exponentials = values.map { Foundation.exp($0 - values.max()!) }
            let best = try XCTUnwrap(result.top.first)
            XCTAssertEqual(best.probability, exponentials.max()! / exponentials.reduce(0, +), accuracy: 1e-6)
            XCTAssertEqual(best.name, ["cat", "dog", "fox"][best.class])
        }
    }

    /// `predict` on a data set's own record file: MNIST's IDX images, whose last 2,000 are the
    /// validation split, give the validation batches' logits and labels.
    func testPredictOnRecordFilesMatchesTheValidationBatches() throws {
        let mnist = TrainingFixtures.repositoryRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/data/mnist").path
        let directory = ProcessRunner.temporaryDirectory("predict-records")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory)
        config.data.dataset = "mnist"
        config.data.path = mnist
        config.training.maxSteps = 20
        try TrainingLauncher.run(config: config, log: { _ in })
        let predictor = try Prediction(checkpoint: directory)
        let file = mnist + "/t10k-images-idx3-ubyte.gz"
        let results = try predictor.predictRecords(file, topK: 10, batchSize: 7)
        XCTAssertEqual(results.count, 10_000)
        XCTAssertEqual(results[8_003].file, file + "#8003")
        let batch = Batch()
        try RunData(config).makers.validation.make(0..<20, epoch: nil, into: batch)
        let logits = predictor.model.forward(batch.input)
        for row in 0..<20 {
            let result = results[8_000 + row]
            XCTAssertEqual(result.label, Int(batch.labels[row]))
            let values = (0..<10).map { Double(logits.pointer[row * 10 + $0]) }
            let exponentials = values.map { Foundation.exp($0 - (values.max() ?? 0)) }
            let total = exponentials.reduce(0, +)
            for guess in result.top {
                XCTAssertEqual(guess.probability, exponentials[guess.class] / total, accuracy: 1e-5, "record \(row)")
            }
        }
        // A CIFAR batch file for an MNIST model says why it cannot be read.
        let bin = directory + "/test_batch.bin"
        try Data(repeating: 0, count: 3073).write(to: URL(fileURLWithPath: bin))
        XCTAssertThrowsError(try predictor.predictRecords(bin, topK: 1)) { error in
            XCTAssertTrue("\(error)".contains("a .bin file is read as CIFAR records, and this model was trained on "
                + "mnist"), "\(error)")
        }
    }
}
