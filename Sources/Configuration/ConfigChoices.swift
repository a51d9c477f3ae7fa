import Datasets
import Optim
import TensorCore

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

/// `distributed.allreduce_dtype`: what the gradient all-reduce sends.
public enum AllReduceDType: String, ConfigChoice {
    /// Float32 gradients, summed in Float32 (exact up to summation order).
    case fp32
    /// Horovod-style compression: gradients travel as bf16 (half the bytes) and every partial
    /// sum is rounded to bf16.
    case bf16
}

/// `training.precision`: Float32, or bfloat16 with torch.autocast's semantics.
extension ComputePrecision: ConfigChoice {}
extension MetricMode: ConfigChoice {}
extension ThresholdMode: ConfigChoice {}
extension ScheduleUnit: ConfigChoice {}
extension CIFAR100.LabelMode: ConfigChoice {}
extension BadImagePolicy: ConfigChoice {}
