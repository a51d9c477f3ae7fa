import Foundation
import Yams

/// The whole configuration of a training run. Every key is optional; `TrainConfig()` is
/// the built-in default (LeNet-5 on the synthetic data set), identical to configs/default.yaml.
public struct TrainConfig: Equatable, Sendable {
    public var model = ModelSection()
    public var data = DataSection()
    public var training = TrainingSection()
    public var optimizer = OptimizerSection()
    public var lrSchedule = ScheduleSection()
    public var distributed = DistributedSection()
    /// Directory for config.yaml, metrics.jsonl and the model's weights.
    public var runDirectory = "runs/default"
    /// Steps between progress lines; 0 prints epoch lines only.
    public var logEvery = 0

    public init() {}
}

public struct ModelSection: Equatable, Sendable {
    public var name = "lenet5"
    /// Output classes; nil takes the data set's.
    public var classes: Int?
}

public struct NormalizeSection: Equatable, Sendable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        self.mean = mean
        self.std = std
    }
}

public struct DataSection: Equatable, Sendable {
    public var dataset = "synthetic"
    /// Data set directory (MNIST); relative paths are taken from the working directory.
    public var path: String?
    public var trainSamples = 12_000
    public var validationSamples = 2_000
    /// MNIST with only the t10k files: the first `trainSplit` images train, the rest validate.
    public var trainSplit = 8_000
    /// nil: the data set's documented default.
    public var normalize: NormalizeSection?
    public var shuffle = true
}

public struct TrainingSection: Equatable, Sendable {
    public var epochs = 10
    /// The global batch, split evenly over ranks.
    public var batchSize = 64
    public var seed: UInt64 = 1
    /// Compute threads per rank; 0 shares the node's cores among its ranks.
    public var threads = 0
}

public struct OptimizerSection: Equatable, Sendable {
    public var name = "sgd"
    public var lr = 0.05
    public var momentum = 0.9
    public var dampening = 0.0
    public var nesterov = false
    public var weightDecay = 0.0005
}

public struct ScheduleSection: Equatable, Sendable {
    public var name = "constant"
    public var stepSize = 30
    public var gamma = 0.1
}

public struct DistributedSection: Equatable, Sendable {
    /// Gradient bucket size for the overlapped all-reduce, in MiB (DDP's bucket_cap_mb).
    public var bucketMegabytes = 25.0
    /// Steps between replica consistency checks (also at every epoch end); 0: epoch ends only.
    public var checkEvery = 100
}

extension TrainConfig {
    public static let datasets = ["synthetic", "mnist"]
    public static let schedules = ["constant", "step"]
    public static let optimizers = ["sgd"]

    /// Reads and validates a YAML config file.
    public static func load(file path: String, knownModels: [String]) throws -> TrainConfig {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = !exists ? "no such config file" : isDirectory.boolValue ? "is a directory, not a config file"
                : "config file cannot be read (permissions?)"
            throw ConfigError(source: path, line: nil, message: reason)
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ConfigError(source: path, line: nil, message: "config file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path, knownModels: knownModels)
    }

    /// Parses and validates config YAML; `source` names it in errors.
    public static func parse(yaml: String, source: String, knownModels: [String]) throws -> TrainConfig {
        let document: Node?
        do {
            document = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(source: source, line: yamlLine(error), message: "invalid YAML: \(yamlProblem(error))")
        }
        var root = try ConfigMapping(document, path: "", source: source)
        var config = TrainConfig()

        var model = try root.mapping("model")
        config.model.name = try model.string("name", default: config.model.name)
        config.model.classes = try model.optionalInt("classes")
        try model.finish()

        var data = try root.mapping("data")
        config.data.dataset = try data.string("dataset", default: config.data.dataset)
        config.data.path = try data.optionalString("path")
        config.data.trainSamples = try data.int("train_samples", default: config.data.trainSamples)
        config.data.validationSamples = try data.int("validation_samples", default: config.data.validationSamples)
        config.data.trainSplit = try data.int("train_split", default: config.data.trainSplit)
        var normalize = try data.mapping("normalize")
        let mean = try normalize.doubles("mean"), std = try normalize.doubles("std")
        try normalize.finish()
        if mean != nil || std != nil {
            guard let mean, let std else {
                throw ConfigError(source: source, line: normalize.line,
                                  message: "'data.normalize' needs both mean and std (one value per channel)")
            }
            config.data.normalize = NormalizeSection(mean: mean, std: std)
        }
        config.data.shuffle = try data.bool("shuffle", default: config.data.shuffle)
        try data.finish()

        var training = try root.mapping("training")
        config.training.epochs = try training.int("epochs", default: config.training.epochs)
        config.training.batchSize = try training.int("batch_size", default: config.training.batchSize)
        config.training.seed = try training.unsigned("seed", default: config.training.seed)
        config.training.threads = try training.int("threads", default: config.training.threads)
        try training.finish()

        var optimizer = try root.mapping("optimizer")
        config.optimizer.name = try optimizer.string("name", default: config.optimizer.name)
        config.optimizer.lr = try optimizer.double("lr", default: config.optimizer.lr)
        config.optimizer.momentum = try optimizer.double("momentum", default: config.optimizer.momentum)
        config.optimizer.dampening = try optimizer.double("dampening", default: config.optimizer.dampening)
        config.optimizer.nesterov = try optimizer.bool("nesterov", default: config.optimizer.nesterov)
        config.optimizer.weightDecay = try optimizer.double("weight_decay", default: config.optimizer.weightDecay)
        try optimizer.finish()

        var schedule = try root.mapping("lr_schedule")
        config.lrSchedule.name = try schedule.string("name", default: config.lrSchedule.name)
        config.lrSchedule.stepSize = try schedule.int("step_size", default: config.lrSchedule.stepSize)
        config.lrSchedule.gamma = try schedule.double("gamma", default: config.lrSchedule.gamma)
        try schedule.finish()

        var distributed = try root.mapping("distributed")
        config.distributed.bucketMegabytes = try distributed.double("bucket_mb", default: config.distributed.bucketMegabytes)
        config.distributed.checkEvery = try distributed.int("check_every", default: config.distributed.checkEvery)
        try distributed.finish()

        config.runDirectory = try root.string("run_dir", default: config.runDirectory)
        config.logEvery = try root.int("log_every", default: config.logEvery)
        try root.finish()

        // Values are checked after reading, each against the line it came from.
        try ConfigValidator(source: source, document: document).validate(config, knownModels: knownModels)
        return config
    }

    static func yamlLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }

    static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let keys, _):
            // Yams's own text quotes the whole document; the line (of the first duplicate) is enough.
            return "key \(keys.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in the same mapping"
        default: return "\(error)"
        }
    }
}
