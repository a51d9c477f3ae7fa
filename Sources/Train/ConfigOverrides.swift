/// Command-line values that replace config keys; validated like the file's own values.
public struct ConfigOverrides: Sendable {
    public var epochs: Int?
    public var batchSize: Int?
    public var lr: Double?
    public var dataPath: String?
    public var seed: UInt64?
    public var threads: Int?
    public var runDirectory: String?
    public var model: String?
    public var dataset: String?
    public var maxSteps: Int?
    /// --no-shuffle: samples in file order.
    public var noShuffle = false
    /// --prefetch: data.prefetch.
    public var prefetch: Int?

    public init() {}
}

extension TrainConfig {
    /// The config file's values (the built-in defaults without one) with the command line's overrides.
    public static func load(file path: String?, overrides: ConfigOverrides, knownModels: [String]) throws -> TrainConfig {
        var config = try path.map {
            try TrainConfig.load(file: $0, knownModels: knownModels, dataPathGiven: overrides.dataPath != nil)
        } ?? TrainConfig()
        try config.apply(overrides, knownModels: knownModels)
        return config
    }

    /// Replaces keys with the command line's values. All or nothing: on an error `self` is unchanged.
    public mutating func apply(_ overrides: ConfigOverrides, knownModels: [String]) throws {
        var updated = self
        try updated.applyAll(overrides, knownModels: knownModels)
        self = updated
    }

    private mutating func applyAll(_ overrides: ConfigOverrides, knownModels: [String]) throws {
        func check(_ condition: Bool, _ flag: String, _ message: String) throws {
            if !condition { throw ConfigError(source: flag, line: nil, message: message) }
        }
        if let epochs = overrides.epochs {
            try check(epochs >= 1, "--epochs", "must be a positive integer, got \(epochs)")
            training.epochs = epochs
        }
        if let batch = overrides.batchSize {
            try check(batch >= 1, "--batch-size", "must be a positive integer, got \(batch)")
            training.batchSize = batch
        }
        if let lr = overrides.lr {
            try check(lr > 0 && lr.isFinite, "--lr", "must be a positive number, got \(lr)")
            optimizer.lr = lr
        }
        if let threads = overrides.threads {
            try check(threads >= 0, "--threads", "must be 0 (automatic) or more, got \(threads)")
            training.threads = threads
        }
        if let path = overrides.dataPath {
            try check(!path.isEmpty, "--data", "must name a directory")
            data.path = path
        }
        if let seed = overrides.seed { training.seed = seed }
        if let maxSteps = overrides.maxSteps {
            try check(maxSteps >= 0, "--max-steps", "must be 0 or more, got \(maxSteps)")
            training.maxSteps = maxSteps
        }
        if overrides.noShuffle { data.shuffle = false }
        if let prefetch = overrides.prefetch {
            try check(prefetch >= 0, "--prefetch", "must be 0 (no prefetching) or more, got \(prefetch)")
            data.prefetch = prefetch
        }
        if let directory = overrides.runDirectory {
            try check(!directory.isEmpty, "--run-dir", "must name a directory")
            runDirectory = directory
        }
        if let model = overrides.model {
            try check(knownModels.contains(model), "--model",
                      "unknown model '\(model)'; known models: \(knownModels.joined(separator: ", "))")
            self.model.name = model
            self.model.layers = nil  // a zoo model replaces the config's custom architecture
        }
        if let dataset = overrides.dataset {
            try check(TrainConfig.datasets.contains(dataset), "--dataset",
                      "unknown dataset '\(dataset)'; known datasets: \(TrainConfig.datasets.joined(separator: ", "))")
            data.dataset = dataset
        }
        // Combinations (mnist without a path, nesterov rules) are checked as a whole.
        try ConfigValidator(source: "command line", document: nil).validate(self, knownModels: knownModels)
    }
}
