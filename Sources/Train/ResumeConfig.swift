import Configuration

/// A resume continues the run it resumes. Its config is the checkpoint's own (with the command
/// line's `--set`/flags on top) unless `--config` names one; a key that would change the numbers
/// (model, data, batch size, seed, optimizer, schedule…) may differ from the checkpoint's only with
/// `--allow-config-change`, and each change is listed. Keys that change only how long the run goes,
/// how it reports or checkpoints, and local resources apply with a note.
public enum ResumeConfig {
    public struct Change: Equatable, Sendable, CustomStringConvertible {
        public var key: String
        public var saved: String
        public var given: String
        public var changesNumbers: Bool

        public var description: String { "\(key): \(saved) → \(given)" }
    }

    /// Keys a resume may change freely.
    static let harmlessKeys: Set<String> = [
        "training.epochs", "training.max_steps", "training.threads", "data.prefetch", "data.workers", "log_every",
        "metrics.every_steps", "metrics.tensorboard", "checkpoint.every_epochs", "checkpoint.every_steps",
        "checkpoint.keep_last", "distributed.timeout_s", "distributed.check_every", "early_stopping.patience",
        "early_stopping.threshold", "validation.every_steps", "run_dir", "init.exclude",
        // Checkpoints hold Float32 master weights in either precision, so a run may switch
        // between fp32 and bf16 (and the all-reduce's dtype) at a resume, with a note.
        "training.precision", "distributed.allreduce_dtype",
    ]

    /// Every key whose resolved value differs between the checkpoint's config and this run's.
    public static func changes(saved: TrainConfig, given: TrainConfig) -> [Change] {
        let (old, new) = (saved.resolved(), given.resolved())
        // A cosine schedule without t_max spans the run, so its length changes the rates.
        let lengthSetsRates = new.lrSchedule.name == .cosine && new.lrSchedule.tMax == nil
        return ConfigSchema.keys.compactMap { key in
            guard key.path != "run_dir" else { return nil }
            let (before, after) = (key.valueText(in: old), key.valueText(in: new))
            guard before != after else { return nil }
            let harmless = harmlessKeys.contains(key.path) && !(key.path == "training.epochs" && lengthSetsRates)
            return Change(key: key.path, saved: before, given: after, changesNumbers: !harmless)
        }
    }

    /// The config a resume runs with: `given` when `--config` named a file, else the checkpoint's
    /// config with the command line's overrides; throws when it changes the numbers and
    /// `allowChange` is false. `note` receives one line per applied change.
    static func effective(
        given: TrainConfig, savedYAML: String, checkpoint path: String, options: StartOptions,
        note: (String) -> Void
    ) throws -> TrainConfig {
        let saved = try TrainConfig.parse(
            yaml: savedYAML, source: "\(path) (the config it was saved with)",
            knownModels: Catalog.models)
        var effective = given
        if !options.configFileGiven {
            effective = saved
            try effective.apply(options.overrides, knownModels: Catalog.models)
        }
        effective.runDirectory = given.runDirectory
        let changes = changes(saved: saved, given: effective)
        let refused = changes.filter(\.changesNumbers)
        if !refused.isEmpty && !options.allowConfigChange {
            throw TrainError.resumeConfigChanged(checkpoint: path, changes: refused)
        }
        for change in changes {
            note("note: resuming with \(change)" + (change.changesNumbers ? " (--allow-config-change)" : ""))
        }
        return effective
    }
}
