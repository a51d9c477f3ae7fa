/// Where a rank stands in its job: the step and what it is doing. The trainer keeps its
/// communicator's phase current, and the collective watchdog names it in its reports
/// ("step 4120 (training, all-reduce bucket 3)").
public struct CollectivePhase: Equatable, Sendable {
    public enum Activity: Int, Sendable, CustomStringConvertible {
        case startingUp, training, validation, replicaCheck, epochEnd, checkpoint, finishing, benchmark

        public var description: String {
            switch self {
            case .startingUp: return "start-up"
            case .training: return "training"
            case .validation: return "validation"
            case .replicaCheck: return "replica check"
            case .epochEnd: return "epoch-end decision"
            case .checkpoint: return "checkpoint"
            case .finishing: return "end of run"
            case .benchmark: return "benchmark"
            }
        }
    }

    /// The optimizer step being taken (1-based), or the last one taken outside training.
    public var step: Int
    public var activity: Activity

    public init(step: Int = 0, activity: Activity = .startingUp) {
        self.step = step
        self.activity = activity
    }
}

/// The collective a rank waits in.
public enum CollectiveOperation: Equatable, Sendable, CustomStringConvertible {
    /// A gradient bucket's sum (`bucket`), or a blocking sum (nil).
    case allReduce(bucket: Int?)
    case broadcast(root: Int)
    case allGather
    case barrier

    public var description: String {
        switch self {
        case .allReduce(let bucket?): return "all-reduce bucket \(bucket)"
        case .allReduce(nil): return "all-reduce"
        case .broadcast(let root): return "broadcast from rank \(root)"
        case .allGather: return "all-gather"
        case .barrier: return "barrier"
        }
    }
}

/// A rank's phase and the collective it waits in: what one rank tells the others when a
/// collective has waited too long.
public struct CollectivePosition: Equatable, Sendable, CustomStringConvertible {
    public var phase: CollectivePhase
    public var operation: CollectiveOperation

    public init(phase: CollectivePhase, operation: CollectiveOperation) {
        self.phase = phase
        self.operation = operation
    }

    public var description: String { "step \(phase.step) (\(phase.activity), \(operation))" }

    /// Five integers for an MPI message: step, activity, operation kind, bucket or root, spare.
    var encoded: [Int64] {
        let (kind, argument): (Int64, Int64)
        switch operation {
        case .allReduce(let bucket): (kind, argument) = (0, Int64(bucket ?? -1))
        case .broadcast(let root): (kind, argument) = (1, Int64(root))
        case .allGather: (kind, argument) = (2, 0)
        case .barrier: (kind, argument) = (3, 0)
        }
        return [Int64(phase.step), Int64(phase.activity.rawValue), kind, argument]
    }

    init?(encoded values: ArraySlice<Int64>) {
        guard values.count >= 4 else { return nil }
        let fields = Array(values.prefix(4))
        guard let activity = CollectivePhase.Activity(rawValue: Int(fields[1])) else { return nil }
        let argument = Int(truncatingIfNeeded: fields[3])
        switch fields[2] {
        case 0: operation = .allReduce(bucket: argument >= 0 ? argument : nil)
        case 1: operation = .broadcast(root: argument)
        case 2: operation = .allGather
        case 3: operation = .barrier
        default: return nil
        }
        phase = CollectivePhase(step: Int(truncatingIfNeeded: fields[0]), activity: activity)
    }
}
