/// Where a run stands: everything besides tensors that an exact resume needs. Its coding keys
/// are the checkpoint metadata's names; the same encoding carries it from rank 0 to every rank.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Epoch in progress, 0-based.
    public var epoch = 0
    /// Next global batch of that epoch.
    public var batchInEpoch = 0
    /// Optimizer steps taken so far.
    public var globalStep = 0
    /// Base learning rate now in force (lowered by plateau drops); schedules scale it.
    public var learningRate: Double
    /// Training loss and accuracy sums of the epoch in progress (over all ranks).
    public var epochLossSum = 0.0
    public var epochCorrect = 0.0
    public var epochCount = 0.0
    /// Best value of the monitored metric so far (nil before the first validation).
    public var bestMetric: Double?
    /// Scheduler and early-stopping state, as the schedulers export it (`scheduler.<name>` entries).
    public var schedulerState: [String: String] = [:]
    /// Seconds of training before this session (so `time` in metrics keeps counting).
    public var elapsedSeconds = 0.0

    public init(learningRate: Double) { self.learningRate = learningRate }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case epoch, batchInEpoch = "batch_in_epoch", globalStep = "global_step", learningRate = "learning_rate"
        case epochLossSum = "epoch_loss_sum", epochCorrect = "epoch_correct", epochCount = "epoch_count"
        case elapsedSeconds = "elapsed_seconds", bestMetric = "best_metric"
    }

    static let schedulerPrefix = "scheduler."

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        batchInEpoch = try c.decode(Int.self, forKey: .batchInEpoch)
        globalStep = try c.decode(Int.self, forKey: .globalStep)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        epochLossSum = try c.decode(Double.self, forKey: .epochLossSum)
        epochCorrect = try c.decode(Double.self, forKey: .epochCorrect)
        epochCount = try c.decode(Double.self, forKey: .epochCount)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        bestMetric = try c.decodeIfPresent(Double.self, forKey: .bestMetric)
        let all = try decoder.container(keyedBy: MetadataKey.self)
        for key in all.allKeys where key.stringValue.hasPrefix(Self.schedulerPrefix) {
            let name = String(key.stringValue.dropFirst(Self.schedulerPrefix.count))
            schedulerState[name] = try all.decode(String.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(batchInEpoch, forKey: .batchInEpoch)
        try c.encode(globalStep, forKey: .globalStep)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(epochLossSum, forKey: .epochLossSum)
        try c.encode(epochCorrect, forKey: .epochCorrect)
        try c.encode(epochCount, forKey: .epochCount)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encodeIfPresent(bestMetric, forKey: .bestMetric)
        var all = encoder.container(keyedBy: MetadataKey.self)
        for (name, value) in schedulerState { try all.encode(value, forKey: MetadataKey(Self.schedulerPrefix + name)) }
    }
}
