/// Whether a monitored metric should be minimized or maximized.
public enum MetricMode: String, CaseIterable, Equatable, Sendable {
    case min, max
}

/// How `threshold` is applied: relative to the best value, or as an absolute margin.
public enum ThresholdMode: String, CaseIterable, Equatable, Sendable {
    case rel, abs
}

/// "Is this metric an improvement on the best so far?", torch ReduceLROnPlateau's
/// `_is_better`, shared with early stopping so that both agree on what improving means.
/// A NaN metric is never better (every comparison with NaN is false), so it counts as a bad
/// epoch, as in torch.
public struct ImprovementCriterion: Equatable, Sendable {
    public var mode: MetricMode
    public var threshold: Double
    public var thresholdMode: ThresholdMode

    public init(mode: MetricMode = .min, threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel) {
        self.mode = mode
        self.threshold = threshold
        self.thresholdMode = thresholdMode
    }

    /// The initial best: anything finite beats it.
    public var worst: Double { mode == .min ? .infinity : -.infinity }

    public func isBetter(_ value: Double, than best: Double) -> Bool {
        // Same arithmetic as torch, so that borderline values (e.g. best · (1 − threshold))
        // round identically.
        switch (mode, thresholdMode) {
        case (.min, .rel): return value < best * (1.0 - threshold)
        case (.min, .abs): return value < best - threshold
        case (.max, .rel): return value > best * (threshold + 1.0)
        case (.max, .abs): return value > best + threshold
        }
    }

    public func validate() throws {
        // threshold ≥ 1 in min/rel mode would make best · (1 − threshold) ≤ 0 (or NaN at inf · 0).
        try ScheduleError.require(threshold.isFinite && threshold >= 0, "threshold", threshold,
                                  "must be finite and non-negative")
        if mode == .min && thresholdMode == .rel {
            try ScheduleError.require(threshold < 1, "threshold", threshold, "must be below 1 in min mode with rel threshold")
        }
    }
}
