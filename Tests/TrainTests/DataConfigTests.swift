import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Datasets
@testable import NN
@testable import Train

/// data.label_mode, data.augment and data.prefetch: parsing, errors, round trip, and what
/// they do to the model and the run.
final class DataConfigTests: XCTestCase {
    func parse(_ yaml: String) throws -> TrainConfig {
        try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: Catalog.models)
    }

    func assertError(_ yaml: String, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), line: line) { XCTAssertEqual("\($0)", expected, line: line) }
    }

    /// A head smaller than the data set's classes is refused before training (it used to index past
    /// the logits: garbage accuracy with classes 9, a heap corruption with 5 or 2).
    func testLabelsOutsideTheModelsClassesAreAnError() throws {
        for classes in [2, 5, 9] {
            let directory = ProcessRunner.temporaryDirectory("labels-\(classes)")
            var config = TrainingFixtures.smallSynthetic(runDirectory: directory)
            config.model.classes = classes
            XCTAssertThrowsError(try Trainer(config: config, log: { _ in })) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("synthetic training record "), text)
                XCTAssertTrue(text.contains(", outside the model's \(classes) classes (model.classes): "
                    + "set model.classes to at least 10, or leave it unset"), text)
                guard case TrainError.labelOutOfRange(_, _, let record, let label, _, _) = error else {
                    return XCTFail(text)
                }
                XCTAssertGreaterThanOrEqual(label, classes)
                XCTAssertTrue(text.contains("record \(record) has label \(label)"), text)
            }
        }
        var config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("labels-10"))
        config.model.classes = 12  // a larger head is fine (unused outputs), as in torch
        XCTAssertNoThrow(try Trainer(config: config, log: { _ in }))
    }

    func testAugmentKeysParseAndRoundTrip() throws {
        let config = try parse("""
        data:
          dataset: cifar100
          path: somewhere
          label_mode: coarse
          augment:
            random_crop: {size: 32, padding: 4}
            horizontal_flip: true
            lighting: 0.1
          prefetch: 4
        """)
        XCTAssertEqual(config.data.labelMode, .coarse)
        XCTAssertEqual(config.data.augment, AugmentSection(randomCrop: RandomCrop(size: 32, padding: 4), horizontalFlip: true,
                                                           lighting: 0.1))
        XCTAssertEqual(config.data.prefetch, 4)
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
        let defaults = TrainConfig()
        XCTAssertEqual(defaults.data.augment, AugmentSection())
        XCTAssertEqual(defaults.data.prefetch, 2)
        XCTAssertEqual(defaults.data.labelMode, .fine)
        XCTAssertTrue(defaults.resolvedYAML().contains("""
          label_mode: fine
          augment:
            random_crop:
              size: null
              padding: 0
            horizontal_flip: false
            lighting: 0.0
            random_resized_crop:
              enabled: false
              scale: [0.08, 1.0]
              ratio: [0.75, 1.3333333333333333]
            color_jitter:
              brightness: 0.0
              contrast: 0.0
              saturation: 0.0
          prefetch: 2
          train_path: null
        """), defaults.resolvedYAML())
        XCTAssertEqual(try parse("data:\n  augment:\n    random_crop: {size: 24}\n").data.augment.randomCrop, RandomCrop(size: 24))
    }

    func testAugmentErrorsNameFileLineAndKey() {
        assertError("data:\n  augment:\n    random_crop: {size: 36, padding: 4}\n",
                    "x.yaml:3: 'data.augment.random_crop.size' must lie in 1...28 (the synthetic images; validation takes the centre crop), got 36")
        assertError("data:\n  augment:\n    random_crop:\n      size: 24\n      padding: -1\n",
                    "x.yaml:5: 'data.augment.random_crop.padding' must be 0 or more, got -1")
        assertError("data:\n  augment:\n    random_crop: {padding: 4}\n",
                    "x.yaml:3: 'data.augment.random_crop' needs a size (and padding, default 0)")
        assertError("data:\n  augment:\n    random_crop: {size: 24, pad: 4}\n",
                    "x.yaml:3: unknown key 'data.augment.random_crop.pad' (did you mean 'data.augment.random_crop.padding'?)")
        assertError("data:\n  augment:\n    hflip: true\n",
                    "x.yaml:3: unknown key 'data.augment.hflip'; known keys here: color_jitter, horizontal_flip, lighting, random_crop, random_resized_crop")
        assertError("data:\n  augment:\n    horizontal_flip: sometimes\n",
                    "x.yaml:3: 'data.augment.horizontal_flip' must be true or false, got string \"sometimes\"")
        assertError("data:\n  augment:\n    lighting: -0.1\n",
                    "x.yaml:3: 'data.augment.lighting' must be 0 (off) or a positive alpha std such as 0.1, got -0.1")
        assertError("data:\n  augment:\n    lighting: 0.1\n",
                    "x.yaml:3: 'data.augment.lighting' needs RGB images; synthetic has 1 channel(s)")
        assertError("data:\n  label_mode: superclass\n", "x.yaml:2: 'data.label_mode' must be fine or coarse, got 'superclass'")
        assertError("data:\n  dataset: cifar10\n  path: d\n  label_mode: coarse\n",
                    "x.yaml:4: 'data.label_mode' coarse labels exist only in cifar100, not in cifar10")
        assertError("data:\n  prefetch: -1\n", "x.yaml:2: 'data.prefetch' must be 0 (no prefetching) or more, got -1")
    }

    func testPrefetchOverride() throws {
        var config = TrainConfig()
        var overrides = ConfigOverrides()
        overrides.prefetch = 0
        try config.apply(overrides, knownModels: Catalog.models)
        XCTAssertEqual(config.data.prefetch, 0)
        overrides.prefetch = -1
        XCTAssertThrowsError(try config.apply(overrides, knownModels: Catalog.models)) {
            XCTAssertEqual("\($0)", "--prefetch: must be 0 (no prefetching) or more, got -1")
        }
        XCTAssertEqual(config.data.prefetch, 0)
    }

    func testShippedResNet20ConfigAugmentsAsHeEtAl() throws {
        let path = TrainingFixtures.repositoryRoot.appendingPathComponent("configs/resnet20-cifar10.yaml").path
        let config = try TrainConfig.load(file: path, knownModels: Catalog.models)
        XCTAssertEqual(config.data.augment, AugmentSection(randomCrop: RandomCrop(size: 32, padding: 4), horizontalFlip: true))
    }

    /// Generated CIFAR-100 files in a fresh directory.
    func cifar100Directory() throws -> String {
        let directory = ProcessRunner.temporaryDirectory("cifar100-data")
        for (name, count, stream) in [("train.bin", 64, "train"), ("test.bin", 16, "test")] {
            let images = SyntheticShapes.makeColor100(count: count, seed: 1, stream: stream)
            try CIFAR100.encode(images, coarse: SyntheticShapes.coarseClass).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        return directory
    }

    /// CIFAR-100's class count (100 fine, 20 coarse) and input shape (the crop size) reach the
    /// model without model.classes: the trainer's model and `summary --config`'s agree.
    func testCIFAR100ClassesAndCropShapeFlowIntoTheModel() throws {
        let data = try cifar100Directory()
        for model in ["lenet5", "resnet20"] {
            for (mode, classes) in [(CIFAR100.LabelMode.fine, 100), (.coarse, 20)] {
                for crop in [nil, RandomCrop(size: 28)] as [RandomCrop?] {
                    var config = TrainConfig()
                    config.model.name = model
                    config.data.dataset = "cifar100"
                    config.data.path = data
                    config.data.labelMode = mode
                    config.data.augment.randomCrop = crop
                    config.training.batchSize = 16
                    config.training.threads = 1
                    config.runDirectory = ProcessRunner.temporaryDirectory("cifar100-run")
                    let trainer = try Trainer(config: config, log: { _ in })
                    let shape = [3, crop?.size ?? 32, crop?.size ?? 32]
                    XCTAssertEqual(trainer.model.classes, classes, "\(model) \(mode)")
                    XCTAssertEqual(trainer.model.inputShape, shape, "\(model) \(mode)")
                    let head = try XCTUnwrap(trainer.model.namedParameters().last)
                    XCTAssertEqual(head.parameter.value.shape, [classes], "\(model) \(mode): \(head.name)")
                    XCTAssertTrue(Catalog.shapes(for: config) == (shape, classes), "summary --config builds the same")
                }
            }
        }
    }

    func testTrainingOnGeneratedCIFAR100WithAugmentation() throws {
        var config = TrainConfig()
        config.data.dataset = "cifar100"
        config.data.path = try cifar100Directory()
        config.data.labelMode = .coarse
        config.data.augment = AugmentSection(randomCrop: RandomCrop(size: 32, padding: 4), horizontalFlip: true, lighting: 0.1)
        config.training.batchSize = 16
        config.training.epochs = 2
        config.training.threads = 1
        config.runDirectory = ProcessRunner.temporaryDirectory("cifar100-train")
        let metrics = try TrainingLauncher.run(config: config, workers: 2, log: { _ in })
        XCTAssertEqual(metrics.map(\.epoch), [1, 2])
        XCTAssertTrue(metrics.allSatisfy { $0.trainLoss.isFinite && $0.validationLoss.isFinite })
    }
}
