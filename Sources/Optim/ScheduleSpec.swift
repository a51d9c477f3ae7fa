/// What a schedule's counter counts.
public enum ScheduleUnit: String, CaseIterable, Equatable, Sendable {
    case epoch, step
}

/// A complete learning-rate policy: a main schedule (closed form, or plateau drops) counted
/// in epochs or optimizer steps, times a linear warm-up counted in optimizer steps. The
/// warm-up multiplies the main schedule's value (torch ChainedScheduler semantics, both
/// acting on the same rate), rather than replacing it for the first steps as SequentialLR
/// would, so a step-unit schedule keeps its own clock from step 0.
public struct ScheduleSpec: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// A deterministic function of the counter.
        case closedForm(LearningRateSchedule)
        /// Drops decided by a `ReduceLROnPlateau` the caller steps once per validation.
        case plateau(PlateauOptions)
    }

    public var kind: Kind
    /// The main schedule's counter; plateau ignores it (it moves when stepped).
    public var unit: ScheduleUnit
    public var warmup: LinearWarmup

    public init(_ schedule: LearningRateSchedule, unit: ScheduleUnit = .epoch, warmup: LinearWarmup = .none) {
        self.kind = .closedForm(schedule)
        self.unit = unit
        self.warmup = warmup
    }

    public init(plateau: PlateauOptions, warmup: LinearWarmup = .none) {
        self.kind = .plateau(plateau)
        self.unit = .epoch
        self.warmup = warmup
    }

    public func validate() throws {
        switch kind {
        case .closedForm(let schedule): try schedule.validate()
        case .plateau(let options): try options.validate()
        }
        try warmup.validate()
    }

    /// The rate for the optimizer step about to be taken: `epoch` is the zero-based epoch it
    /// belongs to, `step` the number of optimizer steps already taken in the whole run, and
    /// `plateauRate` the plateau scheduler's current rate (used, and needed, only for
    /// `.plateau`; nil there means no drop yet, i.e. `base`).
    public func learningRate(base: Double, epoch: Int, step: Int, plateauRate: Double? = nil) -> Double {
        let main: Double
        switch kind {
        case .closedForm(let schedule):
            main = schedule.learningRate(base: base, at: unit == .epoch ? epoch : step)
        case .plateau:
            main = plateauRate ?? base
        }
        return main * warmup.factor(atStep: step)
    }
}
