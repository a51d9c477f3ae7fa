/// The resolved config as YAML: every key with its effective value. Written to the run
/// directory as config.yaml; parsing it again gives the same config.
extension TrainConfig {
    public func resolvedYAML() -> String {
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
        }
        func list(_ values: [Double]) -> String { "[" + values.map(number).joined(separator: ", ") + "]" }
        func text(_ value: String) -> String {
            // Quote so that any path or name reads back as the same string.
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = ["model:", "  name: \(text(model.name))", "  classes: \(model.classes.map(String.init) ?? "null")",
                     "data:", "  dataset: \(text(data.dataset))", "  path: \(data.path.map(text) ?? "null")",
                     "  train_samples: \(data.trainSamples)", "  validation_samples: \(data.validationSamples)",
                     "  train_split: \(data.trainSplit)"]
        if let normalize = data.normalize {
            lines += ["  normalize:", "    mean: \(list(normalize.mean))", "    std: \(list(normalize.std))"]
        }
        lines += ["  shuffle: \(data.shuffle)",
                  "training:", "  epochs: \(training.epochs)", "  batch_size: \(training.batchSize)",
                  "  seed: \(training.seed)", "  threads: \(training.threads)",
                  "optimizer:", "  name: \(text(optimizer.name))", "  lr: \(number(optimizer.lr))",
                  "  momentum: \(number(optimizer.momentum))", "  dampening: \(number(optimizer.dampening))",
                  "  nesterov: \(optimizer.nesterov)", "  weight_decay: \(number(optimizer.weightDecay))",
                  "lr_schedule:", "  name: \(text(lrSchedule.name))", "  step_size: \(lrSchedule.stepSize)",
                  "  gamma: \(number(lrSchedule.gamma))",
                  "distributed:", "  bucket_mb: \(number(distributed.bucketMegabytes))",
                  "  check_every: \(distributed.checkEvery)",
                  "run_dir: \(text(runDirectory))", "log_every: \(logEvery)"]
        return lines.joined(separator: "\n") + "\n"
    }
}

import Foundation
