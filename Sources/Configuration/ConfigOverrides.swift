import Datasets
import Foundation
import TensorCore
import Yams

/// Command-line values that replace config keys; validated like the file's own values.
public struct ConfigOverrides: Equatable, Sendable {
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
    /// --precision: training.precision.
    public var precision: ComputePrecision?
    /// `--set key=value`, any key of `ConfigSchema`, the value in YAML (`--set optimizer.lr=0.1`).
    public var settings: [String] = []

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
        var problems: [ConfigError] = []
        /// True when the flag's value is fine; else its problem is noted and the value not applied.
        func accepts(_ condition: Bool, _ flag: String, _ message: @autoclosure () -> String) -> Bool {
            if !condition { problems.append(ConfigError(source: flag, line: nil, message: message())) }
            return condition
        }
        if let epochs = overrides.epochs, accepts(epochs >= 1, "--epochs", "must be a positive integer, got \(epochs)") {
            training.epochs = epochs
        }
        if let batch = overrides.batchSize, accepts(batch >= 1, "--batch-size", "must be a positive integer, got \(batch)") {
            training.batchSize = batch
        }
        if let lr = overrides.lr, accepts(lr > 0 && lr.isFinite, "--lr", "must be a positive number, got \(lr)") {
            optimizer.lr = lr
        }
        if let threads = overrides.threads, accepts(threads >= 0, "--threads", "must be 0 (automatic) or more, got \(threads)") {
            training.threads = threads
        }
        if let path = overrides.dataPath, accepts(!path.isEmpty, "--data", "must name a directory") {
            data.path = path
        }
        if let seed = overrides.seed { training.seed = seed }
        if let maxSteps = overrides.maxSteps, accepts(maxSteps >= 0, "--max-steps", "must be 0 or more, got \(maxSteps)") {
            training.maxSteps = maxSteps
        }
        if overrides.noShuffle { data.shuffle = false }
        if let precision = overrides.precision { training.precision = precision }
        if let prefetch = overrides.prefetch, accepts(prefetch >= 0, "--prefetch", "must be 0 (no prefetching) or more, got \(prefetch)") {
            data.prefetch = prefetch
        }
        if let directory = overrides.runDirectory, accepts(!directory.isEmpty, "--run-dir", "must name a directory") {
            runDirectory = directory
        }
        if let model = overrides.model, accepts(knownModels.contains(model), "--model",
                  "unknown model '\(model)'; known models: \(knownModels.joined(separator: ", "))") {
            self.model.name = model
            self.model.layers = nil  // a zoo model replaces the config's custom architecture
        }
        if let dataset = overrides.dataset, accepts(DatasetFacts.names.contains(dataset), "--dataset",
                  "unknown dataset '\(dataset)'; known datasets: \(DatasetFacts.names.joined(separator: ", "))") {
            data.dataset = dataset
        }
        for setting in overrides.settings { problems += set(setting) }
        // Combinations (mnist without a path, nesterov rules) are checked as a whole.
        problems += ConfigValidator(source: "command line", document: nil).problems(self, knownModels: knownModels)
        if !problems.isEmpty { throw ConfigErrors(problems) }
    }

    /// Applies one `key=value`; the problems it has (unknown key, a value of the wrong type).
    mutating func set(_ setting: String) -> [ConfigError] {
        func problem(_ message: String) -> [ConfigError] { [ConfigError(source: "--set \(setting)", line: nil, message: message)] }
        guard let equals = setting.firstIndex(of: "=") else { return problem("must be KEY=VALUE, such as optimizer.lr=0.1") }
        let path = String(setting[..<equals]).trimmingCharacters(in: .whitespaces)
        let text = String(setting[setting.index(after: equals)...])
        guard let key = ConfigSchema.key(path) else {
            let parts = path.split(separator: ".")
            return problem(ConfigParser.unknownKeyMessage(String(parts.last ?? ""), in: parts.dropLast().joined(separator: ".")))
        }
        do {
            let node = try Yams.compose(yaml: text) ?? Node("null", Tag(.null), .plain)
            try key.store(&self, node, "--set")
            return []
        } catch let mismatch as ConfigValueMismatch {
            return problem("'\(path)' \(mismatch.message)")
        } catch {
            return problem("'\(path)': \(error)")
        }
    }
}
