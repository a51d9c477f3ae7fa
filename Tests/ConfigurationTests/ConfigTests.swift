import Foundation
import TrainingFixtures
import XCTest
import Yams

@testable import Configuration

final class ConfigTests: XCTestCase {
    let models = ["lenet5"]

    func parse(_ yaml: String) throws -> TrainConfig {
        try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: models)
    }

    func assertError(_ yaml: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), file: file, line: line) { error in
            XCTAssertEqual("\(error)", expected, file: file, line: line)
        }
    }

    func testEmptyDocumentGivesTheDefaults() throws {
        XCTAssertEqual(try parse(""), TrainConfig())
        XCTAssertEqual(try parse("# nothing\n"), TrainConfig())
    }

    func testShippedDefaultConfigIsTheBuiltInDefault() throws {
        let path = TrainingFixtures.repositoryRoot.appendingPathComponent("configs/default.yaml").path
        XCTAssertEqual(try TrainConfig.load(file: path, knownModels: models), TrainConfig())
    }

    func testShippedConfigsLoad() throws {
        for name in ["default.yaml", "lenet5-mnist.yaml"] {
            let path = TrainingFixtures.repositoryRoot.appendingPathComponent("configs/" + name).path
            XCTAssertNoThrow(try TrainConfig.load(file: path, knownModels: models), name)
        }
    }

    func testResolvedYAMLRoundTrips() throws {
        var config = TrainConfig()
        config.model.classes = 7
        config.data.dataset = "mnist"
        config.data.path = "some dir/with \"quotes\""
        config.data.normalize = NormalizeSection(mean: [0.1307], std: [0.3081])
        config.optimizer.nesterov = true
        config.optimizer.weightDecay = 5e-4
        config.optimizer.lr = 0.123456789
        config.lrSchedule.name = .step
        config.training.seed = 12345
        config.distributed.bucketMegabytes = 0.5
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
        XCTAssertEqual(try parse(TrainConfig().resolvedYAML()), TrainConfig().resolved())
    }

    func testNumbersInEveryNotation() throws {
        for text in ["5e-4", "0.0005", "5.0e-4", "1"] {
            let config = try parse("optimizer:\n  weight_decay: \(text)\n")
            XCTAssertEqual(config.optimizer.weightDecay, Double(text)!, text)
        }
    }

    func testUnknownKeysNameThePathAndLine() {
        assertError("optimizer:\n  momentum: 0.9\n  lerning_rate: 0.1\n",
                    "x.yaml:3: unknown key 'optimizer.lerning_rate' (did you mean 'optimizer.lr'?)")
        assertError("model:\n  name: lenet5\nepochs: 3\n", "x.yaml:3: unknown key 'epochs' (did you mean 'training.epochs'?)")
        assertError("training:\n  batchsize: 3\n", "x.yaml:2: unknown key 'training.batchsize' (did you mean 'training.batch_size'?)")
        assertError("optimizer:\n  mommentum: 0.9\n", "x.yaml:2: unknown key 'optimizer.mommentum' (did you mean 'optimizer.momentum'?)")
    }

    func testWrongTypesNameThePathAndLine() {
        assertError("optimizer:\n  lr: 0.1\n\n  momentum: high\n", "x.yaml:4: 'optimizer.momentum' must be a number, got string \"high\"")
        assertError("training:\n  epochs: \"10\"\n", "x.yaml:2: 'training.epochs' must be an integer, got string \"10\"")
        assertError("training:\n  epochs: 2.5\n", "x.yaml:2: 'training.epochs' must be an integer, got number 2.5")
        assertError("data:\n  shuffle: maybe\n", "x.yaml:2: 'data.shuffle' must be true or false, got string \"maybe\"")
        assertError("optimizer: 3\n", "x.yaml:1: 'optimizer' must be a mapping of keys to values, got number 3")
        assertError("data:\n  normalize:\n    mean: 0.5\n    std: [1]\n",
                    "x.yaml:3: 'data.normalize.mean' must be a list of numbers such as [0.5], got number 0.5")
    }

    func testImpossibleValues() {
        assertError("training:\n  batch_size: -4\n", "x.yaml:2: 'training.batch_size' must be a positive integer, got -4")
        assertError("training:\n  epochs: 0\n", "x.yaml:2: 'training.epochs' must be a positive integer, got 0")
        assertError("optimizer:\n  lr: 0\n", "x.yaml:2: 'optimizer.lr' must be positive, got 0.0")
        assertError("optimizer:\n  dampening: 1.5\n", "x.yaml:2: 'optimizer.dampening' must lie in [0, 1], got 1.5")
        assertError("optimizer:\n  momentum: 0\n  nesterov: true\n",
                    "x.yaml:3: 'optimizer.nesterov' requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
        assertError("data:\n  normalize:\n    mean: [0.5]\n    std: [0]\n",
                    "x.yaml:4: 'data.normalize.std' must be positive (it divides), got [0.0]")
        assertError("data:\n  dataset: cifar\n", "x.yaml:2: 'data.dataset' names an unknown dataset 'cifar'; known datasets: synthetic, mnist, cifar10, cifar100, imagenet, imagefolder")
        assertError("model:\n  name: resnet9000\n", "x.yaml:2: 'model.name' names an unknown model 'resnet9000'; known models: lenet5")
        assertError("data:\n  dataset: mnist\n",
                    "x.yaml:1: 'data.path' is required for dataset mnist: the directory holding the IDX files (or pass --data DIR)")
        assertError("training:\n  seed: -1\n", "x.yaml:2: 'training.seed' must be a non-negative integer, got -1")
        // A path the data set would ignore is a mistake, not a silent no-op.
        assertError("data:\n  path: photos\n",
                    "x.yaml:2: 'data.path' is photos, but dataset synthetic reads no files: name the data set it holds "
                        + "(data.dataset or --dataset: mnist, cifar10, cifar100, imagenet, imagefolder)")
        assertError("data:\n  dataset: imagefolder\n  path: p\n  resize: 100\n",
                    "x.yaml:4: 'data.resize' must be at least data.image_size (224) for the crop to fit, got 100")
        assertError("data:\n  dataset: mnist\n  path: p\n  workers: 0\n",
                    "x.yaml:4: 'data.workers' must be a positive integer, got 0")
        assertError("data:\n  dataset: mnist\n  path: p\n  image_size: 32\n",
                    "x.yaml:4: 'data.image_size' applies to image folders (data.dataset: imagefolder or imagenet), "
                        + "not to mnist")
        assertError("data:\n  dataset: imagefolder\n  path: p\n  augment:\n"
                        + "    random_resized_crop: {scale: [0.5, 0.1]}\n",
                    "x.yaml:5: 'data.augment.random_resized_crop.scale' must be [low, high] with "
                        + "0 < low ≤ high ≤ 1, got [0.5, 0.1]")
    }

    func testSyntaxErrorHasALine() {
        XCTAssertThrowsError(try parse("model:\n  name: lenet5\n data: [\n")) { error in
            XCTAssertTrue("\(error)".hasPrefix("x.yaml:3: invalid YAML"), "\(error)")
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try TrainConfig.load(file: "/nonexistent/c.yaml", knownModels: models)) {
            XCTAssertEqual("\($0)", "/nonexistent/c.yaml: no such config file")
        }
    }

    func testOverridesApplyAndValidate() throws {
        var config = TrainConfig()
        var overrides = ConfigOverrides()
        overrides.epochs = 3
        overrides.batchSize = 32
        overrides.lr = 0.01
        overrides.dataPath = "/data/mnist"
        overrides.dataset = "mnist"
        try config.apply(overrides, knownModels: models)
        XCTAssertEqual(config.training.epochs, 3)
        XCTAssertEqual(config.training.batchSize, 32)
        XCTAssertEqual(config.optimizer.lr, 0.01)
        XCTAssertEqual(config.data.path, "/data/mnist")
        overrides = ConfigOverrides()
        overrides.batchSize = 0
        XCTAssertThrowsError(try config.apply(overrides, knownModels: models)) {
            XCTAssertEqual("\($0)", "--batch-size: must be a positive integer, got 0")
        }
    }

    func testMoreImpossibleValues() {
        assertError("optimizer:\n  momentum: -0.1\n", "x.yaml:2: 'optimizer.momentum' must be 0 or more, got -0.1")
        assertError("optimizer:\n  weight_decay: -1e-4\n", "x.yaml:2: 'optimizer.weight_decay' must be 0 or more, got -0.0001")
        assertError("lr_schedule:\n  name: step\n  gamma: 1.5\n", "x.yaml:3: 'lr_schedule.gamma' must lie in (0, 1], got 1.5")
        assertError("lr_schedule:\n  step_size: 0\n", "x.yaml:2: 'lr_schedule.step_size' must be a positive integer, got 0")
        assertError("training:\n  threads: -2\n", "x.yaml:2: 'training.threads' must be 0 (automatic) or more, got -2")
        assertError("model:\n  classes: 1\n", "x.yaml:2: 'model.classes' must be at least 2, got 1")
        assertError("data:\n  train_samples: 0\n", "x.yaml:2: 'data.train_samples' must be a positive integer, got 0")
        assertError("log_every: -1\n", "x.yaml:1: 'log_every' must be 0 or more, got -1")
        assertError("data:\n  normalize:\n    mean: [0.5, 0.5]\n    std: [0.5]\n",
                    "x.yaml:2: 'data.normalize' needs mean and std of the same, non-zero length (one per channel), got 2 and 1")
        assertError("optimizer:\n  nesterov: true\n  dampening: 0.1\n",
                    "x.yaml:2: 'optimizer.nesterov' requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
    }

    func testSeedsCoverUInt64AndRoundTrip() throws {
        XCTAssertEqual(try parse("training:\n  seed: 18446744073709551615\n").training.seed, UInt64.max)
        var config = TrainConfig()
        config.training.seed = UInt64.max
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
        assertError("training:\n  seed: 1.5\n", "x.yaml:2: 'training.seed' must be an integer, got number 1.5")
    }

    func testStringsWithControlCharactersRoundTrip() throws {
        var config = TrainConfig()
        config.data.dataset = "mnist"
        config.data.path = "tab\there\nnewline \\ back\u{1}"
        config.runDirectory = "runs/é #not-a-comment: [x]"
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
    }

    func testDuplicateKeyIsAnErrorWithALine() {
        assertError("training:\n  epochs: 2\n  epochs: 3\n",
                    "x.yaml:2: invalid YAML: key 'epochs' appears more than once in the same mapping")
    }

    func testUnderscoresAndNullsInValues() throws {
        XCTAssertEqual(try parse("data:\n  train_samples: 1_000\n").data.trainSamples, 1_000)
        XCTAssertEqual(try parse("model:\n  classes: ~\ntraining:\n").model.classes, nil)
        XCTAssertEqual(try parse("model:\n  classes: 10\n").model.classes, 10)
    }

    func testShortUnknownKeysGetNoFarFetchedSuggestion() {
        assertError("x: 1\n", "x.yaml:1: unknown key 'x'; known keys here: checkpoint, data, distributed, early_stopping, init, log_every, lr_schedule, metrics, model, optimizer, run_dir, training, validation")
        assertError("modle:\n  name: lenet5\n", "x.yaml:1: unknown key 'modle' (did you mean 'model'?)")
    }

    func testLoadNamesTheFileInErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("config-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml").path
        try "optimizer:\n  lr: 0.1\n  momentum: high\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TrainConfig.load(file: file, knownModels: models)) {
            XCTAssertEqual("\($0)", "\(file):3: 'optimizer.momentum' must be a number, got string \"high\"")
        }
        XCTAssertThrowsError(try TrainConfig.load(file: directory.path, knownModels: models)) {
            XCTAssertEqual("\($0)", "\(directory.path): is a directory, not a config file")
        }
    }

    func testOverrideErrorsNameTheFlag() throws {
        func assertOverride(_ change: (inout ConfigOverrides) -> Void, _ expected: String, line: UInt = #line) {
            var config = TrainConfig()
            var overrides = ConfigOverrides()
            change(&overrides)
            XCTAssertThrowsError(try config.apply(overrides, knownModels: models), line: line) {
                XCTAssertEqual("\($0)", expected, line: line)
            }
            XCTAssertEqual(config, TrainConfig(), "a failed apply may not leave a half-changed config", line: line)
        }
        assertOverride({ $0.epochs = 0 }, "--epochs: must be a positive integer, got 0")
        assertOverride({ $0.lr = -1 }, "--lr: must be a positive number, got -1.0")
        assertOverride({ $0.threads = -1 }, "--threads: must be 0 (automatic) or more, got -1")
        assertOverride({ $0.model = "vgg" }, "--model: unknown model 'vgg'; known models: lenet5")
        assertOverride({ $0.dataset = "cifar" }, "--dataset: unknown dataset 'cifar'; known datasets: synthetic, mnist, cifar10, cifar100, imagenet, imagefolder")
        assertOverride({ $0.epochs = 3; $0.batchSize = 0 }, "--batch-size: must be a positive integer, got 0")
        assertOverride({ $0.dataset = "mnist" },
                       "command line: 'data.path' is required for dataset mnist: the directory holding the IDX files (or pass --data DIR)")
        var config = TrainConfig()
        var overrides = ConfigOverrides()
        overrides.seed = UInt64.max
        overrides.runDirectory = "runs/x"
        try config.apply(overrides, knownModels: models)
        XCTAssertEqual(config.training.seed, UInt64.max)
        XCTAssertEqual(config.runDirectory, "runs/x")
    }
}

/// The schema's key table, and the README's copy of it.
final class ConfigSchemaTests: XCTestCase {
    func testReadmeTableMatchesTheSchema() throws {
        let readme = try String(contentsOf: TrainingFixtures.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains(ConfigSchema.markdownTable()),
                      "README.md's configuration table differs from the schema: paste `cnn-dist config keys --format markdown`")
    }

    func testEveryKeyIsDeclaredOnceAndReadsBackItsDefault() throws {
        let paths = ConfigSchema.keys.map(\.path)
        XCTAssertEqual(Set(paths).count, paths.count)
        let yaml = TrainConfig().resolvedYAML()
        for path in paths { XCTAssertNotNil(ConfigParser.node(at: path, in: try Yams.compose(yaml: yaml)), path) }
        var expected = TrainConfig()
        expected.data.normalize = NormalizeSection(mean: [0.5], std: [0.5])  // the synthetic set's, written out
        XCTAssertEqual(try TrainConfig.parse(yaml: yaml, source: "resolved", knownModels: ["lenet5"]), expected)
    }

    func testAllMistakesAreReportedAtOnce() {
        let yaml = "optimizer:\n  lerning_rate: 0.1\n  momentum: -1\ntraining:\n  epochs: 0\n  on_nonfinite: maybe\n"
        XCTAssertThrowsError(try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: ["lenet5"])) {
            XCTAssertEqual("\($0)", """
            x.yaml:2: unknown key 'optimizer.lerning_rate' (did you mean 'optimizer.lr'?)
            x.yaml:3: 'optimizer.momentum' must be 0 or more, got -1.0
            x.yaml:5: 'training.epochs' must be a positive integer, got 0
            x.yaml:6: 'training.on_nonfinite' must be stop or skip, got 'maybe'
            """)
        }
    }

    func testChoiceMessagesComeFromTheEnumCases() {
        XCTAssertThrowsError(try TrainConfig.parse(yaml: "lr_schedule:\n  name: cosin\n", source: "x.yaml", knownModels: ["lenet5"])) {
            XCTAssertEqual("\($0)", "x.yaml:2: 'lr_schedule.name' must be "
                + ScheduleName.allCases.dropLast().map(\.rawValue).joined(separator: ", ") + " or plateau, got 'cosin'")
        }
    }

    func testSetOverridesAnyKeyAndReportsBadOnes() throws {
        var overrides = ConfigOverrides()
        overrides.settings = ["optimizer.lr=0.2", "lr_schedule.name=cosine", "data.augment.random_crop.size=24"]
        let config = try TrainConfig.load(file: nil, overrides: overrides, knownModels: ["lenet5"])
        XCTAssertEqual(config.optimizer.lr, 0.2)
        XCTAssertEqual(config.lrSchedule.name, .cosine)
        XCTAssertEqual(config.data.augment.randomCrop?.size, 24)
        overrides.settings = ["optimizer.lerning_rate=1", "training.epochs=two", "optimizer.lr"]
        XCTAssertThrowsError(try TrainConfig.load(file: nil, overrides: overrides, knownModels: ["lenet5"])) {
            XCTAssertEqual("\($0)", """
            --set optimizer.lerning_rate=1: unknown key 'optimizer.lerning_rate' (did you mean 'optimizer.lr'?)
            --set training.epochs=two: 'training.epochs' must be an integer, got string "two"
            --set optimizer.lr: must be KEY=VALUE, such as optimizer.lr=0.1
            """)
        }
    }

    /// An empty or null value is the default, as an absent key (the parser before the schema did so).
    func testNullValuesKeepTheDefault() throws {
        let yaml = "training:\n  epochs:\noptimizer:\n  lr: ~\nmodel:\n  name: null\n  layers: null\n"
        let config = try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: ["lenet5"])
        XCTAssertEqual(config, TrainConfig())
    }

    /// A dotted name is not a second spelling of a nested key.
    func testDottedNamesAreUnknownKeys() {
        XCTAssertThrowsError(try TrainConfig.parse(yaml: "optimizer:\n  lr: 0.1\noptimizer.lr: 0.2\n", source: "x.yaml",
                                                   knownModels: ["lenet5"])) {
            XCTAssertEqual("\($0)", "x.yaml:3: unknown key 'optimizer.lr' (did you mean 'optimizer'?); "
                + "write nested keys as mappings (optimizer: {lr: 0.2})")
        }
    }

    /// A bad item of a list is reported at its own line.
    func testListItemErrorsNameTheItemsLine() {
        let yaml = "lr_schedule:\n  milestones:\n    - 10\n    - x\n"
        XCTAssertThrowsError(try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: ["lenet5"])) {
            XCTAssertEqual("\($0)",
                           "x.yaml:4: 'lr_schedule.milestones' must be a list of integers, got string \"x\" in it")
        }
    }
}

final class PrecisionConfigTests: XCTestCase {
    private func parse(_ yaml: String) throws -> TrainConfig {
        try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: ["lenet5"])
    }

    func testPrecisionAndAllReduceDTypeParseAndDefault() throws {
        let defaults = TrainConfig()
        XCTAssertEqual(defaults.training.precision, .fp32)
        XCTAssertEqual(defaults.distributed.allReduceDType, .fp32)
        let config = try parse("training:\n  precision: bf16\ndistributed:\n  allreduce_dtype: bf16\n")
        XCTAssertEqual(config.training.precision, .bf16)
        XCTAssertEqual(config.distributed.allReduceDType, .bf16)
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
    }

    func testBadPrecisionValuesNameTheKey() {
        XCTAssertThrowsError(try parse("training:\n  precision: fp16\n")) {
            XCTAssertEqual("\($0)", "x.yaml:2: 'training.precision' must be fp32 or bf16, got 'fp16'")
        }
        XCTAssertThrowsError(try parse("distributed:\n  allreduce_dtype: int8\n")) {
            XCTAssertEqual("\($0)", "x.yaml:2: 'distributed.allreduce_dtype' must be fp32 or bf16, got 'int8'")
        }
    }
}
