import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Datasets
@testable import Train

/// The configs under configs/, and what training does with a data set this build cannot load.
final class ShippedConfigTests: XCTestCase {
    var binary: String { ProcessRunner.product("cnn-dist") }
    var configsDirectory: String { TrainingFixtures.repositoryRoot.appendingPathComponent("configs").path }

    var shippedConfigs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: configsDirectory)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted().map { configsDirectory + "/" + $0 }
    }

    func testEveryShippedConfigLoads() throws {
        let names = shippedConfigs.map { ($0 as NSString).lastPathComponent }
        for recipe in ["alexnet-imagenet.yaml", "vgg16-imagenet.yaml", "googlenet-imagenet.yaml", "resnet50-imagenet.yaml",
                       "resnet20-cifar10.yaml", "default.yaml"] {
            XCTAssertTrue(names.contains(recipe), "configs/\(recipe) missing")
        }
        for path in shippedConfigs {
            XCTAssertNoThrow(try TrainConfig.load(file: path, knownModels: Catalog.models), path)
        }
        let resnet20 = try TrainConfig.load(file: configsDirectory + "/resnet20-cifar10.yaml", knownModels: Catalog.models)
        XCTAssertEqual(resnet20.training.batchSize, 128)
        XCTAssertEqual(resnet20.training.maxSteps, 64_000)
        XCTAssertEqual(resnet20.optimizer.lr, 0.1)
        XCTAssertEqual(resnet20.optimizer.momentum, 0.9)
        XCTAssertEqual(resnet20.optimizer.weightDecay, 1e-4)
        XCTAssertEqual(resnet20.lrSchedule.name, .multistep)
        XCTAssertEqual(resnet20.lrSchedule.unit, .step)
        XCTAssertEqual(resnet20.lrSchedule.milestones, [32_000, 48_000])
        let alexnet = try TrainConfig.load(file: configsDirectory + "/alexnet-imagenet.yaml", knownModels: Catalog.models)
        XCTAssertEqual(alexnet.training.batchSize, 128)
        XCTAssertEqual(alexnet.optimizer.lr, 0.01)
        XCTAssertEqual(alexnet.optimizer.momentum, 0.9)
        XCTAssertEqual(alexnet.optimizer.weightDecay, 5e-4)
        XCTAssertEqual(alexnet.lrSchedule.name, .plateau)
        XCTAssertEqual(alexnet.lrSchedule.factor, 0.1)
        XCTAssertEqual(alexnet.validation.monitor, .validationAccuracy)
    }

    func testDataSetShapesComeFromOneTable() {
        XCTAssertEqual(DatasetFacts.names, ["synthetic", "mnist", "cifar10", "cifar100", "imagenet", "imagefolder"])
        let facts = Dictionary(uniqueKeysWithValues: DatasetFacts.all.map { ($0.name, $0) })
        XCTAssertEqual(facts["imagenet"]?.inputShape, [3, 224, 224])
        XCTAssertEqual(facts["imagenet"]?.classes, 1000)
        XCTAssertEqual(facts["cifar10"]?.inputShape, [3, 32, 32])
        XCTAssertEqual(facts["cifar10"]?.classes, 10)
        XCTAssertEqual(facts["cifar100"]?.classes, 100)
        XCTAssertEqual(facts["mnist"]?.inputShape, [1, 28, 28])
        XCTAssertEqual(facts["synthetic"]?.inputShape, [1, 28, 28])
        XCTAssertEqual(facts["synthetic"]?.classes, 10)
    }

    func testFileDataSetsNeedAPath() {
        XCTAssertThrowsError(try TrainConfig.parse(yaml: "data:\n  dataset: cifar10\n", source: "x.yaml",
                                                   knownModels: Catalog.models)) {
            XCTAssertEqual("\($0)", "x.yaml:1: 'data.path' is required for dataset cifar10: the directory holding the "
                + "CIFAR-10 binary files (data_batch_1.bin … data_batch_5.bin, test_batch.bin) (or pass --data DIR)")
        }
    }

    /// A config without data.path works when the command line gives `--data DIR`.
    func testDataOnTheCommandLineSuppliesAMissingPath() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("no-path-\(UUID().uuidString).yaml").path
        try "data:\n  dataset: mnist\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        var overrides = ConfigOverrides()
        overrides.dataPath = "/data/mnist"
        let config = try TrainConfig.load(file: file, overrides: overrides, knownModels: Catalog.models)
        XCTAssertEqual(config.data.path, "/data/mnist")
        XCTAssertThrowsError(try TrainConfig.load(file: file, overrides: ConfigOverrides(), knownModels: Catalog.models)) {
            XCTAssertEqual("\($0)", "\(file):1: 'data.path' is required for dataset mnist: the directory holding the IDX files "
                + "(or pass --data DIR)")
        }
    }

    /// Training on a data set whose files are not there (or without a loader) stops at once:
    /// exit 1, the data set, the directory and the expected files named, no run directory created.
    func testMissingDataSetFailsBeforeTheRunDirectory() throws {
        let directory = ProcessRunner.temporaryDirectory("missing-dataset")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/cifar.yaml"
        try "model:\n  name: lenet5\ndata:\n  dataset: cifar10\n  path: data/cifar10\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let run = directory + "/run"
        let missing = directory + "/nowhere"
        let result = try ProcessRunner.run(binary, ["train", "--config", config, "--data", missing, "--run-dir", run],
                                           timeout: 60)
        XCTAssertEqual(result.status, 2)  // an input error: running again would not help
        XCTAssertEqual(result.error, "error: dataset 'cifar10': no CIFAR-10 binary files (data_batch_1.bin … "
            + "data_batch_5.bin, test_batch.bin) in \(missing) (no such directory)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "the run directory was created")

        // An empty directory: the same, without the note; empty files: the loader names the file.
        try FileManager.default.createDirectory(atPath: missing, withIntermediateDirectories: true)
        let empty = try ProcessRunner.run(binary, ["train", "--config", config, "--data", missing, "--run-dir", run], timeout: 60)
        XCTAssertEqual(empty.status, 2)  // an input error: running again would not help
        XCTAssertEqual(empty.error, "error: dataset 'cifar10': no CIFAR-10 binary files (data_batch_1.bin … "
            + "data_batch_5.bin, test_batch.bin) in \(missing)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run))
        for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            _ = FileManager.default.createFile(atPath: missing + "/" + name, contents: Data())
        }
        let present = try ProcessRunner.run(binary, ["train", "--config", config, "--data", missing, "--run-dir", run], timeout: 60)
        XCTAssertEqual(present.status, 2)  // an input error: running again would not help
        XCTAssertEqual(present.error, "error: \(missing)/data_batch_1.bin: is empty; expected 3073-byte CIFAR-10 records\n")
        try? FileManager.default.removeItem(atPath: run)

        // ImageNet under the launcher's in-process workers too.
        let imagenet = directory + "/imagenet.yaml"
        try "model:\n  name: lenet5\n  classes: 1000\ndata:\n  dataset: imagenet\n  path: \(directory)\n"
            .write(toFile: imagenet, atomically: true, encoding: .utf8)
        let workers = try ProcessRunner.run(binary, ["train", "--config", imagenet, "--run-dir", run, "--workers", "2"],
                                            timeout: 60)
        XCTAssertEqual(workers.status, 2)  // an input error: running again would not help
        XCTAssertTrue(workers.error.contains("dataset 'imagenet': no train split at \(directory)/train: expected "
            + "ImageNet class folders (train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, torchvision's ImageFolder layout) "
            + "or a packed set"),
                      workers.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run))
    }
}
