/// Where a run stands: everything besides tensors that an exact resume needs.
public struct TrainingProgress: Equatable, Sendable {
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
    /// Scheduler and early-stopping state, as the schedulers export it.
    public var schedulerState: [String: String] = [:]
    /// Seconds of training before this session (so `time` in metrics keeps counting).
    public var elapsedSeconds = 0.0

    public init(learningRate: Double) { self.learningRate = learningRate }
}
