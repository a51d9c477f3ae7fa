/// Errors that stop a run before or during training, each saying what to do.
public enum TrainError: Error, CustomStringConvertible {
    case missingDataPath(dataset: String)
    case unknownDataset(String)
    case runDirectory(path: String, reason: String)
    case nonFiniteLoss(epoch: Int, step: Int, value: Double)
    case replicaDivergence(tensor: String, ranks: [Int], step: Int)
    case batchNotDivisible(batch: Int, ranks: Int)

    public var description: String {
        switch self {
        case .missingDataPath(let dataset):
            return "dataset '\(dataset)' needs a directory: set data.path in the config or pass --data DIR"
        case .unknownDataset(let name):
            return "unknown dataset '\(name)'"
        case .runDirectory(let path, let reason):
            return "run directory \(path): \(reason)"
        case .nonFiniteLoss(let epoch, let step, let value):
            return "training loss became \(value) at epoch \(epoch), step \(step): lower the learning rate"
                + " (the weights were not saved after this point)"
        case .replicaDivergence(let tensor, let ranks, let step):
            return "replicas diverged at step \(step): '\(tensor)' on rank(s) \(ranks.map(String.init).joined(separator: ", "))"
                + " differs from rank 0's"
                + " (non-deterministic kernel or corrupted memory); stopping"
        case .batchNotDivisible(let batch, let ranks):
            return "global batch \(batch) does not divide over \(ranks) ranks: choose training.batch_size as a multiple of \(ranks)"
        }
    }
}
