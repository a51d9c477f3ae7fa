import Configuration
import Foundation
import Reports

/// What the end of a run prints (rank 0, info level): how it ended, its best epoch, where its
/// models are, and the commands that go on from here — after Ctrl-C, the exact resume command.
struct RunSummary {
    var runDirectory: String
    var outcome: Trainer.Outcome
    var step: Int
    /// Epoch in progress (0-based) and its batches done, and the run's length.
    var epoch: Int
    var batchInEpoch: Int
    var batchesPerEpoch: Int
    var epochs: Int
    var monitor: MonitoredMetric
    /// Every epoch record of the run (metrics.jsonl, earlier sessions included).
    var records: [EpochMetrics]
    /// How this run was started, so the commands shown start it the same way:
    /// `mpirun -n 4 .build/release/cnn-dist`, or the executable alone (`--workers N` after it).
    var command: String
    var workersOption: String

    var lines: [String] {
        let folder = RunSummary.quoted(runDirectory)
        let resume = "\(command) train --resume \(folder)\(workersOption)"
        switch outcome {
        case .signalled:
            let position = "epoch \(epoch + 1)/\(epochs), batch \(batchInEpoch) of \(batchesPerEpoch)"
            return ["stopped at step \(step) (\(position)); checkpoint saved",
                    "continue with: \(resume)"]
        case .completed, .earlyStopped, .maxSteps:
            var lines = ["finished at step \(step): " + reason]
            if let best { lines.append("  best epoch:  \(best)") }
            let bestPath = (runDirectory as NSString).appendingPathComponent("checkpoints/best.safetensors")
            if FileManager.default.fileExists(atPath: bestPath) {
                lines.append("  best model:  \(bestPath) (saved whenever \(monitor.rawValue) improved)")
            }
            lines.append("  final model: " + (runDirectory as NSString).appendingPathComponent("model.safetensors"))
            lines.append("  evaluate:    \(command) evaluate --checkpoint \(folder)")
            lines.append("  plot:        \(command) plot \(folder)")
            // max_steps is part of the run's config: going on past it means raising it.
            lines.append("  train on:    \(resume) "
                + (outcome == .maxSteps ? "--set training.max_steps=N" : "--set training.epochs=N"))
            return lines
        }
    }

    private var reason: String {
        switch outcome {
        case .completed: return "\(epochs) epoch(s) done"
        case .earlyStopped: return "stopped early (early_stopping) after epoch \(epoch)"
        case .maxSteps: return "max_steps reached"
        case .signalled: return "stopped by a signal"
        }
    }

    /// `val_accuracy 98.61% at epoch 7`: the monitored metric's best epoch (the earliest of ties).
    private var best: String? {
        let scored = records.compactMap { record -> (epoch: Int, value: Double)? in
            let value = monitor == .validationAccuracy ? record.validationAccuracy : record.validationLoss
            return value.isFinite ? (record.epoch, value) : nil
        }
        let better: (Double, Double) -> Bool = monitor == .validationAccuracy ? { $0 > $1 } : { $0 < $1 }
        guard var winner = scored.first else { return nil }
        for candidate in scored.dropFirst() where better(candidate.value, winner.value) { winner = candidate }
        let value = monitor == .validationAccuracy
            ? String(format: "%.2f%%", 100 * winner.value) : String(format: "%.4f", winner.value)
        return "\(monitor.rawValue) \(value) at epoch \(winner.epoch)"
    }

    /// `path` as a shell word: as it is when it holds only safe characters, else single-quoted.
    static func quoted(_ path: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/._-+=:,@%"))
        guard path.unicodeScalars.contains(where: { !safe.contains($0) }) else { return path }
        return "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// How this process was started: under mpirun (`mpirun -n N`), or on its own.
    static func command(worldSize: Int, launchedByMPI: Bool) -> String {
        let executable = CommandLine.arguments.first ?? "cnn-dist"
        return launchedByMPI ? "mpirun -n \(worldSize) \(quoted(executable))" : quoted(executable)
    }
}
