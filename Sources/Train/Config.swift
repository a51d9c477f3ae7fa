import Data
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
    public var validation = ValidationSection()
    public var checkpoint = CheckpointSection()
    public var earlyStopping = EarlyStoppingSection()
    public var metrics = MetricsSection()
    /// Directory for config.yaml, metrics.jsonl and the model's weights.
    public var runDirectory = "runs/default"
    /// Steps between plain progress lines (output not a terminal); 0: no progress output, epoch lines only.
    public var logEvery = 50

    public init() {}
}

public struct ModelSection: Equatable, Sendable {
    /// A zoo model, or any name for a custom architecture given in `layers`.
    public var name = "lenet5"
    /// Output classes; nil takes the data set's.
    public var classes: Int?
    /// A custom architecture; nil builds the zoo model `name`.
    public var layers: [LayerSpec]?
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
    /// CIFAR-100: train on the "fine" (100) or "coarse" (20) labels.
    public var labelMode = "fine"
    /// Training augmentation (validation is never augmented).
    public var augment = AugmentSection()
    /// Training batches made ahead on a background queue; 0: each made when the step needs it.
    public var prefetch = 2
}

public struct AugmentSection: Equatable, Sendable {
    /// Random crop of `size` after zero padding by `padding` (nil: none).
    public var randomCrop: RandomCrop?
    public var horizontalFlip = false
    /// PCA lighting jitter's alpha std (0: off).
    public var lighting = 0.0

    public init(randomCrop: RandomCrop? = nil, horizontalFlip: Bool = false, lighting: Double = 0) {
        self.randomCrop = randomCrop
        self.horizontalFlip = horizontalFlip
        self.lighting = lighting
    }
}


public struct TrainingSection: Equatable, Sendable {
    public var epochs = 10
    /// The global batch, split evenly over ranks.
    public var batchSize = 64
    public var seed: UInt64 = 1
    /// Compute threads per rank; 0 shares the node's cores among its ranks.
    public var threads = 0
    /// Stop after this many optimizer steps in all (saving a checkpoint); nil: train all epochs.
    public var maxSteps: Int?
    /// What a non-finite training loss does: "stop" the run, or "skip" the step.
    public var onNonFinite = "stop"
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
    /// constant, step, multistep, exponential, cosine or plateau.
    public var name = "constant"
    /// What step_size, milestones and t_max count: "epoch" or "step" (optimizer steps).
    public var unit = "epoch"
    public var stepSize = 30
    public var gamma = 0.1
    public var milestones: [Int] = []
    /// Cosine period; nil: the whole run (epochs, or epochs × steps per epoch).
    public var tMax: Int?
    public var etaMin = 0.0
    /// Linear warm-up over this many optimizer steps, from warmup_start_factor · lr to lr.
    public var warmupSteps = 0
    public var warmupStartFactor = 1.0 / 3.0
    // ReduceLROnPlateau, on validation.monitor:
    public var factor = 0.1
    public var patience = 10
    public var threshold = 1e-4
    public var thresholdMode = "rel"
    public var cooldown = 0
    public var minLR = 0.0
    public var eps = 1e-8
}

public struct ValidationSection: Equatable, Sendable {
    /// Also validate every N steps (logged); 0: at epoch ends only.
    public var everySteps = 0
    /// The metric plateau drops, early stopping and best.safetensors follow: val_loss or val_accuracy.
    public var monitor = "val_loss"
    /// min or max; nil: min for val_loss, max for val_accuracy.
    public var mode: String?

    public var resolvedMode: String { mode ?? (monitor == "val_accuracy" ? "max" : "min") }
}

public struct CheckpointSection: Equatable, Sendable {
    /// Save at the end of every N epochs (0: not by epoch).
    public var everyEpochs = 1
    /// Save every N optimizer steps (0: not by step).
    public var everySteps = 0
    /// Step checkpoints kept (older ones are deleted; best.safetensors is kept apart).
    public var keepLast = 3
}

public struct EarlyStoppingSection: Equatable, Sendable {
    /// Stop after this many epochs without improvement of validation.monitor; nil: never.
    public var patience: Int?
    public var threshold = 0.0
}

public struct MetricsSection: Equatable, Sendable {
    /// Steps between records in steps.jsonl; 0: no step stream.
    public var everySteps = 10
}

public struct DistributedSection: Equatable, Sendable {
    /// Gradient bucket size for the overlapped all-reduce, in MiB (DDP's bucket_cap_mb).
    public var bucketMegabytes = 25.0
    /// Steps between replica consistency checks (also at every epoch end); 0: epoch ends only.
    public var checkEvery = 100
}

extension TrainConfig {
    public static var datasets: [String] { Catalog.datasets }
    public static let schedules = ["constant", "step", "multistep", "exponential", "cosine", "plateau"]
    public static let optimizers = ["sgd"]

    /// Reads and validates a YAML config file.
    /// `dataPathGiven`: the command line supplies `data.path` (`--data`), so a file without one is fine.
    public static func load(file path: String, knownModels: [String], dataPathGiven: Bool = false) throws -> TrainConfig {
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
        return try parse(yaml: text, source: path, knownModels: knownModels, dataPathGiven: dataPathGiven)
    }

    /// Parses and validates config YAML; `source` names it in errors.
    public static func parse(yaml: String, source: String, knownModels: [String], dataPathGiven: Bool = false) throws
        -> TrainConfig {
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
        if let (node, _) = model.node("layers") {
            config.model.layers = try LayerSpecDecoder(source: source).layers(node, path: "model.layers")
            if try model.optionalString("name") == nil { config.model.name = "custom" }
        }
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
        config.data.labelMode = try data.string("label_mode", default: config.data.labelMode)
        var augment = try data.mapping("augment")
        var crop = try augment.mapping("random_crop")
        let cropSize = try crop.optionalInt("size"), padding = try crop.int("padding", default: 0)
        try crop.finish()
        if let cropSize {
            config.data.augment.randomCrop = RandomCrop(size: cropSize, padding: padding)
        } else if crop.line != nil {
            throw ConfigError(source: source, line: crop.line, message: "'data.augment.random_crop' needs a size (and padding, default 0)")
        }
        config.data.augment.horizontalFlip = try augment.bool("horizontal_flip", default: config.data.augment.horizontalFlip)
        config.data.augment.lighting = try augment.double("lighting", default: config.data.augment.lighting)
        try augment.finish()
        config.data.prefetch = try data.int("prefetch", default: config.data.prefetch)
        try data.finish()

        var training = try root.mapping("training")
        config.training.epochs = try training.int("epochs", default: config.training.epochs)
        config.training.batchSize = try training.int("batch_size", default: config.training.batchSize)
        config.training.seed = try training.unsigned("seed", default: config.training.seed)
        config.training.threads = try training.int("threads", default: config.training.threads)
        config.training.maxSteps = try training.optionalInt("max_steps")
        config.training.onNonFinite = try training.string("on_nonfinite", default: config.training.onNonFinite)
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
        config.lrSchedule.unit = try schedule.string("unit", default: config.lrSchedule.unit)
        config.lrSchedule.milestones = try schedule.ints("milestones") ?? []
        config.lrSchedule.tMax = try schedule.optionalInt("t_max")
        config.lrSchedule.etaMin = try schedule.double("eta_min", default: config.lrSchedule.etaMin)
        config.lrSchedule.warmupSteps = try schedule.int("warmup_steps", default: config.lrSchedule.warmupSteps)
        config.lrSchedule.warmupStartFactor = try schedule.double("warmup_start_factor", default: config.lrSchedule.warmupStartFactor)
        config.lrSchedule.factor = try schedule.double("factor", default: config.lrSchedule.factor)
        config.lrSchedule.patience = try schedule.int("patience", default: config.lrSchedule.patience)
        config.lrSchedule.threshold = try schedule.double("threshold", default: config.lrSchedule.threshold)
        config.lrSchedule.thresholdMode = try schedule.string("threshold_mode", default: config.lrSchedule.thresholdMode)
        config.lrSchedule.cooldown = try schedule.int("cooldown", default: config.lrSchedule.cooldown)
        config.lrSchedule.minLR = try schedule.double("min_lr", default: config.lrSchedule.minLR)
        config.lrSchedule.eps = try schedule.double("eps", default: config.lrSchedule.eps)
        try schedule.finish()

        var validation = try root.mapping("validation")
        config.validation.everySteps = try validation.int("every_steps", default: config.validation.everySteps)
        config.validation.monitor = try validation.string("monitor", default: config.validation.monitor)
        config.validation.mode = try validation.optionalString("mode")
        try validation.finish()

        var checkpoint = try root.mapping("checkpoint")
        config.checkpoint.everyEpochs = try checkpoint.int("every_epochs", default: config.checkpoint.everyEpochs)
        config.checkpoint.everySteps = try checkpoint.int("every_steps", default: config.checkpoint.everySteps)
        config.checkpoint.keepLast = try checkpoint.int("keep_last", default: config.checkpoint.keepLast)
        try checkpoint.finish()

        var earlyStopping = try root.mapping("early_stopping")
        config.earlyStopping.patience = try earlyStopping.optionalInt("patience")
        config.earlyStopping.threshold = try earlyStopping.double("threshold", default: config.earlyStopping.threshold)
        try earlyStopping.finish()

        var distributed = try root.mapping("distributed")
        config.distributed.bucketMegabytes = try distributed.double("bucket_mb", default: config.distributed.bucketMegabytes)
        config.distributed.checkEvery = try distributed.int("check_every", default: config.distributed.checkEvery)
        try distributed.finish()

        var metrics = try root.mapping("metrics")
        config.metrics.everySteps = try metrics.int("every_steps", default: config.metrics.everySteps)
        try metrics.finish()

        config.runDirectory = try root.string("run_dir", default: config.runDirectory)
        config.logEvery = try root.int("log_every", default: config.logEvery)
        try root.finish()

        // Values are checked after reading, each against the line it came from.
        try ConfigValidator(source: source, document: document).validate(config, knownModels: knownModels,
                                                                         requireDataPath: !dataPathGiven)
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
