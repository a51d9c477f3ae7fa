/// Stops training once the monitored metric has gone `patience` epochs in a row without
/// improving (Keras' and PyTorch Lightning's EarlyStopping; patience 0 stops at the first
/// epoch that does not improve), judged by the same `ImprovementCriterion` as
/// ReduceLROnPlateau, which by contrast drops only after *more* than `patience`. With
/// `patience` nil it never stops and only tracks the best value (e.g. for best checkpoints).
public struct EarlyStopping: Equatable, Sendable {
    /// Carried between epochs, and through checkpoints as metadata.
    public struct State: Equatable, Sendable {
        public var best: Double
        public var epochsWithoutImprovement: Int

        public init(best: Double, epochsWithoutImprovement: Int = 0) {
            self.best = best
            self.epochsWithoutImprovement = epochsWithoutImprovement
        }

        public var metadata: [String: String] {
            ["best": MetadataValue.encode(best),
             "epochs_without_improvement": MetadataValue.encode(epochsWithoutImprovement)]
        }

        public init?(metadata: [String: String]) {
            guard let best = MetadataValue.double(metadata, "best"),
                  let count = MetadataValue.int(metadata, "epochs_without_improvement") else { return nil }
            self.init(best: best, epochsWithoutImprovement: count)
        }
    }

    /// One epoch's verdict.
    public struct Decision: Equatable, Sendable {
        /// The metric is a new best.
        public var improved: Bool
        /// Training should stop after this epoch.
        public var stop: Bool

        public init(improved: Bool, stop: Bool) {
            self.improved = improved
            self.stop = stop
        }
    }

    public let patience: Int?
    public let criterion: ImprovementCriterion
    public var state: State

    /// Defaults to any strict improvement counting (threshold 0, absolute), like Keras' min_delta = 0.
    public init(patience: Int?, criterion: ImprovementCriterion = ImprovementCriterion(threshold: 0, thresholdMode: .abs)) throws {
        if let patience { try ScheduleError.require(patience >= 0, "early_stopping.patience", patience, "must be non-negative") }
        try criterion.validate()
        self.patience = patience
        self.criterion = criterion
        state = State(best: criterion.worst)
    }

    public var best: Double { state.best }

    /// Whether the epochs without improvement have reached the patience.
    public var shouldStop: Bool {
        patience.map { state.epochsWithoutImprovement > 0 && state.epochsWithoutImprovement >= $0 } ?? false
    }

    /// Records one epoch's metric; NaN is never an improvement.
    @discardableResult
    public mutating func update(metric: Double) -> Decision {
        let improved = criterion.isBetter(metric, than: state.best)
        if improved {
            state.best = metric
            state.epochsWithoutImprovement = 0
        } else {
            state.epochsWithoutImprovement += 1
        }
        return Decision(improved: improved, stop: shouldStop)
    }
}
