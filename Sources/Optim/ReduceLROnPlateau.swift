/// Options of torch.optim.lr_scheduler.ReduceLROnPlateau, with torch's defaults.
public struct PlateauOptions: Equatable, Sendable {
    public var mode: MetricMode
    /// new rate = rate · factor, in (0, 1).
    public var factor: Double
    /// Bad epochs tolerated before a drop: the drop comes on bad epoch patience + 1.
    public var patience: Int
    public var threshold: Double
    public var thresholdMode: ThresholdMode
    /// Epochs after a drop during which bad epochs are not counted.
    public var cooldown: Int
    /// min_lr: drops never go below it.
    public var minimumRate: Double
    /// A drop smaller than this is skipped (the rate stays; counters still reset).
    public var eps: Double

    public init(mode: MetricMode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minimumRate: Double = 0, eps: Double = 1e-8) {
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minimumRate = minimumRate
        self.eps = eps
    }

    public var criterion: ImprovementCriterion {
        ImprovementCriterion(mode: mode, threshold: threshold, thresholdMode: thresholdMode)
    }

    public func validate() throws {
        try ScheduleError.require(factor > 0 && factor < 1, "factor", factor, "must be in (0, 1)")
        try ScheduleError.require(patience >= 0, "patience", patience, "must be non-negative")
        try ScheduleError.require(cooldown >= 0, "cooldown", cooldown, "must be non-negative")
        try ScheduleError.require(minimumRate.isFinite && minimumRate >= 0, "min_lr", minimumRate,
                                  "must be finite and non-negative")
        try ScheduleError.require(eps.isFinite && eps >= 0, "eps", eps, "must be finite and non-negative")
        try criterion.validate()
    }
}

/// Everything ReduceLROnPlateau carries between epochs: torch's state_dict minus the
/// options, plus the rate it manages (torch keeps that in the optimizer).
public struct PlateauState: Equatable, Sendable {
    public var learningRate: Double
    /// Best metric so far; ±inf before the first good epoch.
    public var best: Double
    public var badEpochs: Int
    public var cooldownCounter: Int
    /// Number of `step(metric:)` calls so far (torch's last_epoch).
    public var lastEpoch: Int

    public init(learningRate: Double, best: Double, badEpochs: Int = 0, cooldownCounter: Int = 0, lastEpoch: Int = 0) {
        self.learningRate = learningRate
        self.best = best
        self.badEpochs = badEpochs
        self.cooldownCounter = cooldownCounter
        self.lastEpoch = lastEpoch
    }

    /// Checkpoint metadata; keys follow torch's state_dict names.
    public var metadata: [String: String] {
        ["lr": MetadataValue.encode(learningRate), "best": MetadataValue.encode(best),
         "num_bad_epochs": MetadataValue.encode(badEpochs), "cooldown_counter": MetadataValue.encode(cooldownCounter),
         "last_epoch": MetadataValue.encode(lastEpoch)]
    }

    /// nil when a key is missing or does not parse.
    public init?(metadata: [String: String]) {
        guard let rate = MetadataValue.double(metadata, "lr"), let best = MetadataValue.double(metadata, "best"),
              let bad = MetadataValue.int(metadata, "num_bad_epochs"),
              let cooldown = MetadataValue.int(metadata, "cooldown_counter"),
              let last = MetadataValue.int(metadata, "last_epoch") else { return nil }
        self.init(learningRate: rate, best: best, badEpochs: bad, cooldownCounter: cooldown, lastEpoch: last)
    }
}

/// torch.optim.lr_scheduler.ReduceLROnPlateau for one parameter group: multiplies the rate
/// by `factor` once the metric has not improved for more than `patience` epochs. A value type
/// owning its rate, so a checkpoint only needs `state`.
public struct ReduceLROnPlateau: Equatable, Sendable {
    /// A drop from `old` to `new`.
    public struct Reduction: Equatable, Sendable {
        public var old: Double
        public var new: Double

        public init(old: Double, new: Double) {
            self.old = old
            self.new = new
        }
    }

    public let options: PlateauOptions
    public var state: PlateauState

    /// Throws `ScheduleError` for invalid options.
    public init(options: PlateauOptions, learningRate: Double) throws {
        try options.validate()
        self.options = options
        state = PlateauState(learningRate: learningRate, best: options.criterion.worst)
    }

    /// The current rate (before any warm-up factor).
    public var learningRate: Double { state.learningRate }
    public var best: Double { state.best }
    public var inCooldown: Bool { state.cooldownCounter > 0 }

    public func isBetter(_ value: Double, than best: Double) -> Bool {
        options.criterion.isBetter(value, than: best)
    }

    /// One epoch's metric; returns the drop, or nil when the rate stayed (including a drop
    /// skipped because it would be smaller than eps).
    @discardableResult
    public mutating func step(metric: Double) -> Reduction? {
        // Line for line torch's step(); NaN fails isBetter, so it counts as a bad epoch.
        state.lastEpoch += 1
        if isBetter(metric, than: state.best) {
            state.best = metric
            state.badEpochs = 0
        } else {
            state.badEpochs += 1
        }
        if inCooldown {
            state.cooldownCounter -= 1
            state.badEpochs = 0  // bad epochs in cooldown are ignored
        }
        guard state.badEpochs > options.patience else { return nil }
        state.cooldownCounter = options.cooldown
        state.badEpochs = 0
        let old = state.learningRate
        let new = Swift.max(old * options.factor, options.minimumRate)
        guard old - new > options.eps else { return nil }
        state.learningRate = new
        return Reduction(old: old, new: new)
    }
}
