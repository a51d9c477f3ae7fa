import Checkpoint
import Configuration
import Optim

/// The coordinator's learning-rate and stopping policy: the configured schedule (closed
/// form or plateau drops) times a linear warm-up, the best value of the monitored metric
/// (for best.safetensors) and early stopping. Rank 0 runs `epochEnded`; the trainer
/// broadcasts its decision so ranks never disagree.
final class LearningRateController {
    struct Decision {
        var drop: (old: Double, new: Double)?
        var improved = false
        var stop = false
    }

    let spec: ScheduleSpec
    private(set) var plateau: ReduceLROnPlateau?
    private var best: EarlyStopping

    init(config: TrainConfig, stepsPerEpoch: Int) throws {
        let s = config.lrSchedule
        let unit = s.unit
        let runLength = unit == .step ? config.training.epochs * stepsPerEpoch : config.training.epochs
        let warmup = LinearWarmup(steps: s.warmupSteps, startFactor: s.warmupStartFactor)
        let mode = config.validation.resolvedMode
        switch s.name {
        case .plateau:
            let options = PlateauOptions(mode: mode, factor: s.factor, patience: s.patience, threshold: s.threshold,
                                         thresholdMode: s.thresholdMode, cooldown: s.cooldown,
                                         minimumRate: s.minLR, eps: s.eps)
            spec = ScheduleSpec(plateau: options, warmup: warmup)
            plateau = try ReduceLROnPlateau(options: options, learningRate: config.optimizer.lr)
        case .constant, .step, .multistep, .exponential, .cosine:
            let schedule: LearningRateSchedule
            switch s.name {
            case .step: schedule = .step(stepSize: s.stepSize, gamma: s.gamma)
            case .multistep: schedule = .multiStep(milestones: s.milestones, gamma: s.gamma)
            case .exponential: schedule = .exponential(gamma: s.gamma)
            case .cosine: schedule = .cosine(period: s.tMax ?? max(1, runLength), minimum: s.etaMin)
            case .constant, .plateau: schedule = .constant
            }
            spec = ScheduleSpec(schedule, unit: unit, warmup: warmup)
        }
        try spec.validate()
        best = try EarlyStopping(patience: config.earlyStopping.patience,
                                 criterion: ImprovementCriterion(mode: mode, threshold: config.earlyStopping.threshold,
                                                                 thresholdMode: .abs))
    }

    /// The rate for the next optimizer step. `progress.learningRate` is the base rate, which
    /// plateau drops lower.
    func learningRate(_ progress: TrainingProgress) -> Double {
        spec.learningRate(base: progress.learningRate, epoch: progress.epoch, step: progress.globalStep,
                          plateauRate: plateau == nil ? nil : progress.learningRate)
    }

    /// Rank 0, after each epoch's validation: plateau drop, improvement, early stop.
    func epochEnded(metric: Double, progress: inout TrainingProgress) -> Decision {
        var decision = Decision()
        if plateau != nil, let reduction = plateau!.step(metric: metric) {
            decision.drop = (reduction.old, reduction.new)
        }
        if let plateau { progress.learningRate = plateau.learningRate }
        let verdict = best.update(metric: metric)
        decision.improved = verdict.improved
        decision.stop = verdict.stop
        if verdict.improved { progress.bestMetric = metric }
        return decision
    }

    var state: [String: String] {
        var state: [String: String] = [:]
        for (key, value) in best.state.metadata { state["best." + key] = value }
        for (key, value) in plateau?.state.metadata ?? [:] { state["plateau." + key] = value }
        return state
    }

    func restore(_ state: [String: String], source: String) throws {
        func section(_ prefix: String) -> [String: String] {
            Dictionary(uniqueKeysWithValues: state.filter { $0.key.hasPrefix(prefix) }
                .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        guard let bestState = EarlyStopping.State(metadata: section("best.")) else {
            throw CheckpointError.malformed(path: source, reason: "metric-tracking state in the metadata is incomplete")
        }
        best.state = bestState
        if plateau != nil {
            guard let plateauState = PlateauState(metadata: section("plateau.")) else {
                throw CheckpointError.malformed(path: source, reason: "plateau scheduler state in the metadata is missing "
                    + "(was the checkpoint written with another lr_schedule?)")
            }
            plateau!.state = plateauState
        }
    }
}
