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
