import Foundation

/// A deterministic learning rate as a function of a counter t: epochs or optimizer steps,
/// whichever the caller counts (see `ScheduleSpec.unit`). Each case is the closed form of
/// the torch.optim.lr_scheduler class it names (`_get_closed_form_lr`), not torch's
/// recursive update, so that resuming at any t needs no history; the two agree to
/// rounding (about 1e-16 relative).
public enum LearningRateSchedule: Equatable, Sendable {
    /// The base rate throughout.
    case constant
    /// StepLR: base · gamma^⌊t / stepSize⌋.
    case step(stepSize: Int, gamma: Double)
    /// MultiStepLR: base · gamma^(number of milestones ≤ t); milestones strictly increasing.
    case multiStep(milestones: [Int], gamma: Double)
    /// ExponentialLR: base · gamma^t.
    case exponential(gamma: Double)
    /// CosineAnnealingLR (T_max = period, eta_min = minimum):
    /// minimum + (base − minimum)(1 + cos(π t / period)) / 2. Past the period the closed form
    /// keeps going (the rate climbs back towards base), as torch's closed form does.
    case cosine(period: Int, minimum: Double)

    /// The rate at zero-based counter `t`.
    public func learningRate(base: Double, at t: Int) -> Double {
        // Foundation's pow (libm) is what Python's float ** calls, so the values match torch's
        // closed forms bit for bit on the same libm; the operation order below copies torch's.
        switch self {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            return base * pow(gamma, Double(t / stepSize))
        case .multiStep(let milestones, let gamma):
            // bisect_right: milestones ≤ t.
            let passed = milestones.reduce(0) { $0 + ($1 <= t ? 1 : 0) }
            return base * pow(gamma, Double(passed))
        case .exponential(let gamma):
            return base * pow(gamma, Double(t))
        case .cosine(let period, let minimum):
            return minimum + (base - minimum) * (1 + cos(Double.pi * Double(t) / Double(period))) / 2
        }
    }

    /// The rate at zero-based `epoch`, for schedules counted in epochs.
    public func learningRate(base: Double, epoch: Int) -> Double {
        learningRate(base: base, at: epoch)
    }

    /// Rejects options torch would reject or that make the closed form meaningless.
    public func validate() throws {
        switch self {
        case .constant:
            break
        case .step(let stepSize, let gamma):
            try ScheduleError.require(stepSize >= 1, "step_size", stepSize, "must be at least 1")
            try Self.validateGamma(gamma)
        case .multiStep(let milestones, let gamma):
            try ScheduleError.require(!milestones.isEmpty, "milestones", milestones, "must list at least one milestone")
            try ScheduleError.require(milestones[0] >= 1, "milestones", milestones, "must be at least 1")
            try ScheduleError.require(zip(milestones, milestones.dropFirst()).allSatisfy { $0 < $1 },
                                      "milestones", milestones, "must be strictly increasing")
            try Self.validateGamma(gamma)
        case .exponential(let gamma):
            try Self.validateGamma(gamma)
        case .cosine(let period, let minimum):
            try ScheduleError.require(period >= 1, "t_max", period, "must be at least 1")
            try ScheduleError.require(minimum.isFinite && minimum >= 0, "eta_min", minimum,
                                      "must be finite and non-negative")
        }
    }

    // gamma > 1 (growth) is legal in torch, so only nonsense is rejected.
    private static func validateGamma(_ gamma: Double) throws {
        try ScheduleError.require(gamma.isFinite && gamma > 0, "gamma", gamma, "must be finite and positive")
    }
}
