import Checkpoint
import Configuration
import Datasets
import Distributed
import Optim

/// Exit statuses that tell a supervisor (launch/supervise.sh, a Slurm requeue script) whether
/// running the job again can help.
public enum ExitStatus {
    /// A failure a restart may get past: an I/O error, a lost rank, replicas that drifted.
    public static let failure: Int32 = 1
    /// The input is wrong (config, data, checkpoint, ranks started differently, a diverging run):
    /// the same command fails the same way, so do not restart.
    public static let inputError: Int32 = 2
    /// A collective waited past `distributed.timeout_s` (a rank stopped, hung or unreachable).
    public static let collectiveTimeout: Int32 = MPICommunicator.timeoutExitCode

    /// Errors every rank raises alike (each rank reaches the same verdict from shared numbers):
    /// rank 0 alone needs to say it.
    static func isRaisedByEveryRank(_ error: Error) -> Bool {
        switch error as? TrainError {
        case .ranksDisagree?, .replicaDivergence?, .nonFiniteLoss?: return true
        default: return false
        }
    }

    public static func of(_ error: Error) -> Int32 {
        switch error {
        case is ConfigError, is ConfigErrors, is DataError, is ImageDecodingError, is ImageBatchMaker.UnreadableSample,
            is ScheduleError:
            return inputError
        case let error as TrainError:
            switch error {
            // Drifted replicas, and run-folder trouble (a disk error, a folder still locked by a job
            // that is ending): a later attempt may get past them.
            case .replicaDivergence, .runDirectory: return failure
            default: return inputError
            }
        case let error as CheckpointError:
            if case .writeFailed = error { return failure }
            return inputError
        case let error as DistributedError:
            if case .invalidWorkers = error { return inputError }
            return failure
        default:
            return failure
        }
    }
}
