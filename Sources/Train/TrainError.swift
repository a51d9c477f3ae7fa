/// Errors that stop a run before or during training, each saying what to do.
public enum TrainError: Error, CustomStringConvertible {
    case missingDataPath(dataset: String)
    case unknownDataset(String)
    /// A known data set this build cannot load (yet), or whose files are not there.
    case datasetUnavailable(dataset: String, reason: String)
    case runDirectory(path: String, reason: String)
    /// `value` is this rank's loss; nil when another rank's loss was the non-finite one.
    case nonFiniteLoss(epoch: Int, step: Int, value: Double?)
    case nonFiniteWeights(tensor: String, step: Int)
    case replicaDivergence(tensor: String, ranks: [Int], step: Int)
    case batchNotDivisible(batch: Int, ranks: Int)
    /// Start options for initial weights that do not fit together.
    case initialWeights(reason: String)
    /// A `training.freeze` or `init.exclude` pattern that names no parameter of the model.
    case patternMatchesNothing(key: String, pattern: String, parameters: String)
    case labelOutOfRange(dataset: String, split: String, record: Int, label: Int, classes: Int, datasetClasses: Int)
    /// Ranks that started with other settings than rank 0's: each differing fact, rank 0's value,
    /// and the other values with the ranks that hold them.
    case ranksDisagree([RankAgreement.Difference])
    /// A size that cannot fit in this machine's memory, found before allocating it.
    case notEnoughMemory(what: String, needed: String, available: String, advice: String)
    /// A resume whose config changes keys that change the numbers, without --allow-config-change.
    case resumeConfigChanged(checkpoint: String, changes: [ResumeConfig.Change])

    public var description: String {
        switch self {
        case .missingDataPath(let dataset):
            return "dataset '\(dataset)' needs a directory: set data.path in the config or pass --data DIR"
        case .unknownDataset(let name):
            return "unknown dataset '\(name)'"
        case .datasetUnavailable(let dataset, let reason):
            return "dataset '\(dataset)': \(reason)"
        case .runDirectory(let path, let reason):
            return "run directory \(path): \(reason)"
        case .nonFiniteLoss(let epoch, let step, let value):
            let what = value.map { "became " + ($0.isNaN ? "NaN" : $0 > 0 ? "+Inf" : "-Inf") }
                ?? "became non-finite on another rank"
            return "training loss \(what) at epoch \(epoch), step \(step); stopped without saving these weights "
                + "(the checkpoints already written hold finite ones): lower the learning rate, "
                + "or set training.on_nonfinite: skip to skip such steps"
        case .nonFiniteWeights(let tensor, let step):
            return "parameter '\(tensor)' holds NaN or Inf after step \(step); stopped without saving it "
                + "(the checkpoints already written hold finite weights): lower the learning rate"
        case .replicaDivergence(let tensor, let ranks, let step):
            return "replicas diverged at step \(step): '\(tensor)' on rank(s) \(ranks.map(String.init).joined(separator: ", "))"
                + " differs from rank 0's"
                + " (non-deterministic kernel or corrupted memory); stopping"
        case .labelOutOfRange(let dataset, let split, let record, let label, let classes, let datasetClasses):
            return "\(dataset) \(split) record \(record) has label \(label), outside the model's \(classes) classes "
                + "(model.classes): set model.classes to at least \(datasetClasses), "
                + "or leave it unset to take the data set's"
        case .notEnoughMemory(let what, let needed, let available, let advice):
            return "\(what) needs at least \(needed) of memory; this machine has \(available): \(advice)"
        case .ranksDisagree(let differences):
            return "the ranks do not agree before the first step, so they would train different things or wait "
                + "for each other forever; give every rank the same config, data and cnn-dist build:\n"
                + differences.map { "  " + $0.description }.joined(separator: "\n")
        case .resumeConfigChanged(let checkpoint, let changes):
            return "--resume continues the run saved in \(checkpoint), but this config changes what it computes:\n"
                + changes.map { "  \($0)" }.joined(separator: "\n")
                + "\nresume without --config (the run's own config is used), or pass --allow-config-change to "
                + "continue with these changes"
        case .initialWeights(let reason):
            return reason
        case .patternMatchesNothing(let key, let pattern, let parameters):
            return "'\(key)': pattern '\(pattern)' matches no parameter of the model (its parameters: \(parameters); "
                + "`cnn-dist summary` names the layers, whose parameters are <layer>.weight and <layer>.bias)"
        case .batchNotDivisible(let batch, let ranks):
            return "global batch \(batch) does not divide over \(ranks) ranks: choose training.batch_size as a multiple of \(ranks)"
        }
    }
}
