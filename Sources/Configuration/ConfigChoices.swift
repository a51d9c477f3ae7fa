import Datasets
import Optim

/// What a non-finite training loss does (`training.on_nonfinite`).
public enum NonFiniteLossAction: String, ConfigChoice {
    /// End the run with an error; the weights of that step are not saved.
    case stop
    /// Skip the optimizer step on every rank and go on.
    case skip
}

/// `optimizer.name`.
public enum OptimizerName: String, ConfigChoice {
    case sgd
}

/// `lr_schedule.name`: torch.optim.lr_scheduler's closed forms, or ReduceLROnPlateau.
public enum ScheduleName: String, ConfigChoice {
    case constant, step, multistep, exponential, cosine, plateau
}

/// `validation.monitor`: what plateau drops, early stopping and best.safetensors follow.
public enum MonitoredMetric: String, ConfigChoice {
    case validationLoss = "val_loss"
    case validationAccuracy = "val_accuracy"
}

extension MetricMode: ConfigChoice {}
extension ThresholdMode: ConfigChoice {}
extension ScheduleUnit: ConfigChoice {}
extension CIFAR100.LabelMode: ConfigChoice {}
extension BadImagePolicy: ConfigChoice {}
