import Foundation

/// A training checkpoint's `__metadata__` as one value: what the file is, the model and run it
/// belongs to, the checksum of its tensors and where the run stands. Stored flat (safetensors
/// metadata is a map of strings) under the names the README's table lists.
public struct CheckpointMetadata: Codable, Equatable, Sendable {
    public static let formatName = "cnn-dist-checkpoint"
    public static let formatVersion = "1"

    public var format = Self.formatName
    public var formatVersion = Self.formatVersion
    public var model: String
    /// One image, "CxHxW".
    public var inputShape: String
    public var classes: Int
    /// The run's resolved config (YAML).
    public var config: String
    public var seed: UInt64
    /// Ranks that wrote the checkpoint.
    public var worldSize: Int
    /// SHA-256 of all tensor data in file order.
    public var tensorSHA256: String
    public var progress: TrainingProgress
    /// The names of the classes in label order (image folders: the folder names), so `evaluate`
    /// and `predict` can print names; nil for data sets without names.
    public var classNames: [String]?

    public init(model: String, inputShape: [Int], classes: Int, config: String, seed: UInt64, worldSize: Int,
                tensorSHA256: String, progress: TrainingProgress) {
        self.model = model
        self.inputShape = inputShape.map(String.init).joined(separator: "x")
        self.classes = classes
        self.config = config
        self.seed = seed
        self.worldSize = worldSize
        self.tensorSHA256 = tensorSHA256
        self.progress = progress
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", model, inputShape = "input_shape", classes, config, seed
        case worldSize = "world_size", tensorSHA256 = "tensor_sha256", classNames = "class_names"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        formatVersion = try c.decode(String.self, forKey: .formatVersion)
        model = try c.decode(String.self, forKey: .model)
        inputShape = try c.decode(String.self, forKey: .inputShape)
        classes = try c.decode(Int.self, forKey: .classes)
        config = try c.decode(String.self, forKey: .config)
        seed = try c.decode(UInt64.self, forKey: .seed)
        worldSize = try c.decode(Int.self, forKey: .worldSize)
        tensorSHA256 = try c.decode(String.self, forKey: .tensorSHA256)
        progress = try TrainingProgress(from: decoder)  // its entries sit beside these
        // A JSON list in one string entry (the metadata holds strings only).
        if let names = try c.decodeIfPresent(String.self, forKey: .classNames) {
            guard let list = try? JSONDecoder().decode([String].self, from: Data(names.utf8)) else {
                throw DecodingError.dataCorruptedError(forKey: .classNames, in: c,
                                                       debugDescription: "not a JSON list of names")
            }
            classNames = list
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(model, forKey: .model)
        try c.encode(inputShape, forKey: .inputShape)
        try c.encode(classes, forKey: .classes)
        try c.encode(config, forKey: .config)
        try c.encode(seed, forKey: .seed)
        try c.encode(worldSize, forKey: .worldSize)
        try c.encode(tensorSHA256, forKey: .tensorSHA256)
        try progress.encode(to: encoder)
        if let classNames {
            let json = String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)
            try c.encode(json, forKey: .classNames)
        }
    }
}

extension CheckpointMetadata {
    /// Values no run writes (an edited or damaged file), each as "'key' …": a resume must not index
    /// with them or trap on them.
    public var problems: [String] {
        var found: [String] = []
        func require(_ condition: Bool, _ key: String, _ message: @autoclosure () -> String) {
            if !condition { found.append("'\(key)' \(message())") }
        }
        let p = progress
        require(formatVersion == Self.formatVersion, "format_version",
                "is \(formatVersion); this build reads version \(Self.formatVersion)")
        require(classes >= 1, "classes", "must be at least 1, got \(classes)")
        require(worldSize >= 1, "world_size", "must be at least 1, got \(worldSize)")
        // Bounds far above any real run keep later arithmetic (epochs × steps) from overflowing.
        require((0...1 << 31).contains(p.epoch), "epoch", "must lie in 0...2^31, got \(p.epoch)")
        require((0...1 << 40).contains(p.batchInEpoch), "batch_in_epoch", "must lie in 0...2^40, got \(p.batchInEpoch)")
        require((0...1 << 50).contains(p.globalStep), "global_step", "must lie in 0...2^50, got \(p.globalStep)")
        require(p.learningRate.isFinite && p.learningRate > 0, "learning_rate",
                "must be a positive number, got \(p.learningRate)")
        for (key, value) in [("epoch_loss_sum", p.epochLossSum), ("epoch_correct", p.epochCorrect),
                             ("epoch_count", p.epochCount), ("elapsed_seconds", p.elapsedSeconds)] {
            require(value.isFinite && value >= 0, key, "must be a finite number ≥ 0, got \(value)")
        }
        return found
    }
}
