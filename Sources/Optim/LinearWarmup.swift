/// Linear warm-up over the first optimizer steps (Goyal et al., large-batch SGD): a factor
/// on the scheduled rate rising from `startFactor` to 1, torch LinearLR's closed form with
/// end_factor 1: startFactor + (1 − startFactor) · min(t, steps) / steps. It always counts
/// optimizer steps, because the large batches it exists for may fit few steps in an epoch.
public struct LinearWarmup: Equatable, Sendable {
    /// Warm-up length W in optimizer steps; 0 disables it.
    public var steps: Int
    /// The factor at step 0, in (0, 1] (torch's default is 1/3).
    public var startFactor: Double

    public init(steps: Int, startFactor: Double = 1.0 / 3.0) {
        self.steps = steps
        self.startFactor = startFactor
    }

    /// No warm-up: the factor is 1 from the first step.
    public static let none = LinearWarmup(steps: 0, startFactor: 1)

    /// The factor for zero-based optimizer step `step` (the number of steps already taken).
    public func factor(atStep step: Int) -> Double {
        // torch divides by total_iters; W = 0 means "no warm-up" here rather than 0/0.
        guard steps > 0 else { return 1 }
        return startFactor + (1 - startFactor) * Double(min(max(step, 0), steps)) / Double(steps)
    }

    public func validate() throws {
        try ScheduleError.require(steps >= 0, "warmup_steps", steps, "must be non-negative")
        try ScheduleError.require(startFactor > 0 && startFactor <= 1, "warmup_start_factor", startFactor,
                                  "must be in (0, 1]")
    }
}
