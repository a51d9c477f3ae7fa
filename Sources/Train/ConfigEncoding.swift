/// The resolved config as YAML: every key with its effective value. Written to the run
/// directory as config.yaml; parsing it again gives the same config.
extension TrainConfig {
    public func resolvedYAML() -> String {
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
        }
        func list(_ values: [Double]) -> String { "[" + values.map(number).joined(separator: ", ") + "]" }
        func text(_ value: String) -> String {
            // Double-quoted with escapes, so that any path or name (tabs, newlines included) reads back the same.
            var quoted = "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\\": quoted += "\\\\"
                case "\"": quoted += "\\\""
                case "\n": quoted += "\\n"
                case "\t": quoted += "\\t"
                case "\r": quoted += "\\r"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
                    || scalar.value == 0xFEFF || scalar.value == 0x2028 || scalar.value == 0x2029:
                    quoted += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        }
        var lines = ["model:", "  name: \(text(model.name))", "  classes: \(model.classes.map(String.init) ?? "null")"]
        if let layers = model.layers { lines += ["  layers:"] + layers.map { "    - " + $0.flowYAML } }
        lines += ["data:", "  dataset: \(text(data.dataset))", "  path: \(data.path.map(text) ?? "null")",
                     "  train_samples: \(data.trainSamples)", "  validation_samples: \(data.validationSamples)",
                     "  train_split: \(data.trainSplit)"]
        if let normalize = data.normalize {
            lines += ["  normalize:", "    mean: \(list(normalize.mean))", "    std: \(list(normalize.std))"]
        }
        let crop = data.augment.randomCrop.map { "{size: \($0.size), padding: \($0.padding)}" } ?? "null"
        lines += ["  shuffle: \(data.shuffle)", "  label_mode: \(text(data.labelMode))",
                  "  augment:", "    random_crop: \(crop)", "    horizontal_flip: \(data.augment.horizontalFlip)",
                  "    lighting: \(number(data.augment.lighting))", "  prefetch: \(data.prefetch)",
                  "training:", "  epochs: \(training.epochs)", "  batch_size: \(training.batchSize)",
                  "  seed: \(training.seed)", "  threads: \(training.threads)",
                  "  max_steps: \(training.maxSteps.map(String.init) ?? "null")",
                  "  on_nonfinite: \(text(training.onNonFinite))",
                  "optimizer:", "  name: \(text(optimizer.name))", "  lr: \(number(optimizer.lr))",
                  "  momentum: \(number(optimizer.momentum))", "  dampening: \(number(optimizer.dampening))",
                  "  nesterov: \(optimizer.nesterov)", "  weight_decay: \(number(optimizer.weightDecay))",
                  "lr_schedule:", "  name: \(text(lrSchedule.name))", "  step_size: \(lrSchedule.stepSize)",
                  "  gamma: \(number(lrSchedule.gamma))", "  unit: \(text(lrSchedule.unit))",
                  "  milestones: [\(lrSchedule.milestones.map(String.init).joined(separator: ", "))]",
                  "  t_max: \(lrSchedule.tMax.map(String.init) ?? "null")", "  eta_min: \(number(lrSchedule.etaMin))",
                  "  warmup_steps: \(lrSchedule.warmupSteps)",
                  "  warmup_start_factor: \(number(lrSchedule.warmupStartFactor))",
                  "  factor: \(number(lrSchedule.factor))", "  patience: \(lrSchedule.patience)",
                  "  threshold: \(number(lrSchedule.threshold))", "  threshold_mode: \(text(lrSchedule.thresholdMode))",
                  "  cooldown: \(lrSchedule.cooldown)", "  min_lr: \(number(lrSchedule.minLR))",
                  "  eps: \(number(lrSchedule.eps))",
                  "validation:", "  every_steps: \(validation.everySteps)", "  monitor: \(text(validation.monitor))",
                  "  mode: \(validation.mode.map(text) ?? "null")",
                  "checkpoint:", "  every_epochs: \(checkpoint.everyEpochs)", "  every_steps: \(checkpoint.everySteps)",
                  "  keep_last: \(checkpoint.keepLast)",
                  "early_stopping:", "  patience: \(earlyStopping.patience.map(String.init) ?? "null")",
                  "  threshold: \(number(earlyStopping.threshold))",
                  "distributed:", "  bucket_mb: \(number(distributed.bucketMegabytes))",
                  "  check_every: \(distributed.checkEvery)",
                  "metrics:", "  every_steps: \(metrics.everySteps)",
                  "run_dir: \(text(runDirectory))", "log_every: \(logEvery)"]
        return lines.joined(separator: "\n") + "\n"
    }
}

import Foundation
