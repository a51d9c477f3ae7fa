/// Learning rate as a function of the epoch (torch's LRScheduler stepped once per epoch).
public enum LearningRateSchedule: Equatable, Sendable {
    /// The base rate throughout.
    case constant
    /// StepLR: base · gamma^⌊epoch / stepSize⌋.
    case step(stepSize: Int, gamma: Double)

    /// The rate for zero-based `epoch`.
    public func learningRate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .step(let stepSize, let gamma):
            return base * pow(gamma, epoch / stepSize)
        }
    }

    private func pow(_ x: Double, _ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<n { result *= x }
        return result
    }
}
