import Yams

/// The rules a config's values must follow, with errors that point at the offending line.
struct ConfigValidator {
    let source: String
    let document: Node?

    /// Line of the value at a dotted key path, for errors found after decoding.
    func line(of keyPath: String) -> Int? {
        var node = document
        var line = document?.mark?.line
        for key in keyPath.split(separator: ".") {
            guard case .mapping(let mapping)? = node,
                  let entry = mapping.first(where: { $0.key.scalar?.string == String(key) }) else { return line }
            node = entry.value
            // A scalar's own line; for a section, the line of its key.
            line = entry.value.scalar != nil ? (entry.value.mark?.line ?? entry.key.mark?.line) : entry.key.mark?.line
        }
        return line
    }

    func error(_ keyPath: String, _ message: String) -> ConfigError {
        ConfigError(source: source, line: line(of: keyPath), message: "'\(keyPath)' \(message)")
    }

    func require(_ condition: Bool, _ keyPath: String, _ message: @autoclosure () -> String) throws {
        if !condition { throw error(keyPath, message()) }
    }

    func validate(_ config: TrainConfig, knownModels: [String], requireDataPath: Bool = true) throws {
        try require(config.model.layers != nil || knownModels.contains(config.model.name), "model.name",
                    "names an unknown model '\(config.model.name)'; known models: \(knownModels.joined(separator: ", "))")
        if let classes = config.model.classes {
            try require(classes >= 2, "model.classes", "must be at least 2, got \(classes)")
        }
        let data = config.data
        try require(TrainConfig.datasets.contains(data.dataset), "data.dataset",
                    "names an unknown dataset '\(data.dataset)'; known datasets: \(TrainConfig.datasets.joined(separator: ", "))")
        if requireDataPath, let facts = Catalog.dataset(data.dataset), facts.readsFiles, (data.path ?? "").isEmpty {
            throw ConfigError(source: source, line: line(of: "data"),
                              message: "'data.path' is required for dataset \(facts.name): the directory holding the \(facts.files) (or pass --data DIR)")
        }
        try require(data.trainSamples >= 1, "data.train_samples", "must be a positive integer, got \(data.trainSamples)")
        try require(data.validationSamples >= 1, "data.validation_samples",
                    "must be a positive integer, got \(data.validationSamples)")
        try require(data.trainSplit >= 1, "data.train_split", "must be a positive integer, got \(data.trainSplit)")
        if let normalize = data.normalize {
            try require(normalize.mean.count == normalize.std.count && !normalize.mean.isEmpty, "data.normalize",
                        "needs mean and std of the same, non-zero length (one per channel), got \(normalize.mean.count) and \(normalize.std.count)")
            try require(normalize.std.allSatisfy { $0 > 0 }, "data.normalize.std",
                        "must be positive (it divides), got \(normalize.std)")
        }
        try require(["fine", "coarse"].contains(data.labelMode), "data.label_mode",
                    "must be fine or coarse, got '\(data.labelMode)'")
        try require(data.labelMode == "fine" || data.dataset == "cifar100", "data.label_mode",
                    "coarse labels exist only in cifar100, not in \(data.dataset)")
        try require(data.prefetch >= 0, "data.prefetch", "must be 0 (no prefetching) or more, got \(data.prefetch)")
        try require(data.augment.lighting >= 0, "data.augment.lighting",
                    "must be 0 (off) or a positive alpha std such as 0.1, got \(data.augment.lighting)")
        let imageShape = Catalog.dataset(data.dataset)?.inputShape
        if data.augment.lighting > 0, let channels = imageShape?.first {
            try require(channels == 3, "data.augment.lighting", "needs RGB images; \(data.dataset) has \(channels) channel(s)")
        }
        if let crop = data.augment.randomCrop {
            let side = imageShape.map { min($0[1], $0[2]) } ?? Int.max
            try require(crop.size >= 1 && crop.size <= side, "data.augment.random_crop.size",
                        "must lie in 1...\(side) (the \(data.dataset) images; validation takes the centre crop), got \(crop.size)")
            try require(crop.padding >= 0, "data.augment.random_crop.padding", "must be 0 or more, got \(crop.padding)")
        }
        let training = config.training
        try require(training.epochs >= 1, "training.epochs", "must be a positive integer, got \(training.epochs)")
        try require(training.batchSize >= 1, "training.batch_size", "must be a positive integer, got \(training.batchSize)")
        try require(training.threads >= 0, "training.threads", "must be 0 (automatic) or more, got \(training.threads)")
        let optimizer = config.optimizer
        try require(TrainConfig.optimizers.contains(optimizer.name), "optimizer.name",
                    "names an unknown optimizer '\(optimizer.name)'; known: \(TrainConfig.optimizers.joined(separator: ", "))")
        try require(optimizer.lr > 0, "optimizer.lr", "must be positive, got \(optimizer.lr)")
        try require(optimizer.momentum >= 0, "optimizer.momentum", "must be 0 or more, got \(optimizer.momentum)")
        try require((0...1).contains(optimizer.dampening), "optimizer.dampening",
                    "must lie in [0, 1], got \(optimizer.dampening)")
        try require(optimizer.weightDecay >= 0, "optimizer.weight_decay", "must be 0 or more, got \(optimizer.weightDecay)")
        if optimizer.nesterov {
            try require(optimizer.momentum > 0 && optimizer.dampening == 0, "optimizer.nesterov",
                        "requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
        }
        let schedule = config.lrSchedule
        try require(TrainConfig.schedules.contains(schedule.name), "lr_schedule.name",
                    "names an unknown schedule '\(schedule.name)'; known: \(TrainConfig.schedules.joined(separator: ", "))")
        try require(schedule.stepSize >= 1, "lr_schedule.step_size", "must be a positive integer, got \(schedule.stepSize)")
        try require(schedule.gamma > 0 && schedule.gamma <= 1, "lr_schedule.gamma", "must lie in (0, 1], got \(schedule.gamma)")
        try require(["epoch", "step"].contains(schedule.unit), "lr_schedule.unit", "must be epoch or step, got '\(schedule.unit)'")
        try require(zip(schedule.milestones, schedule.milestones.dropFirst()).allSatisfy { $0 < $1 }
                    && schedule.milestones.allSatisfy { $0 >= 1 }, "lr_schedule.milestones",
                    "must be increasing positive integers, got \(schedule.milestones)")
        if schedule.name == "multistep" {
            try require(!schedule.milestones.isEmpty, "lr_schedule.milestones", "must list at least one milestone for multistep")
        }
        if let tMax = schedule.tMax { try require(tMax >= 1, "lr_schedule.t_max", "must be a positive integer, got \(tMax)") }
        try require(schedule.etaMin >= 0, "lr_schedule.eta_min", "must be 0 or more, got \(schedule.etaMin)")
        try require(schedule.warmupSteps >= 0, "lr_schedule.warmup_steps", "must be 0 or more, got \(schedule.warmupSteps)")
        try require(schedule.warmupStartFactor > 0 && schedule.warmupStartFactor <= 1, "lr_schedule.warmup_start_factor",
                    "must lie in (0, 1], got \(schedule.warmupStartFactor)")
        try require(schedule.factor > 0 && schedule.factor < 1, "lr_schedule.factor", "must lie in (0, 1), got \(schedule.factor)")
        try require(schedule.patience >= 0, "lr_schedule.patience", "must be 0 or more, got \(schedule.patience)")
        try require(schedule.threshold >= 0, "lr_schedule.threshold", "must be 0 or more, got \(schedule.threshold)")
        try require(["rel", "abs"].contains(schedule.thresholdMode), "lr_schedule.threshold_mode",
                    "must be rel or abs, got '\(schedule.thresholdMode)'")
        try require(schedule.cooldown >= 0, "lr_schedule.cooldown", "must be 0 or more, got \(schedule.cooldown)")
        try require(schedule.minLR >= 0, "lr_schedule.min_lr", "must be 0 or more, got \(schedule.minLR)")
        try require(schedule.eps >= 0, "lr_schedule.eps", "must be 0 or more, got \(schedule.eps)")
        let validation = config.validation
        try require(validation.everySteps >= 0, "validation.every_steps", "must be 0 or more, got \(validation.everySteps)")
        try require(["val_loss", "val_accuracy"].contains(validation.monitor), "validation.monitor",
                    "must be val_loss or val_accuracy, got '\(validation.monitor)'")
        if let mode = validation.mode { try require(["min", "max"].contains(mode), "validation.mode", "must be min or max, got '\(mode)'") }
        let checkpoint = config.checkpoint
        try require(checkpoint.everyEpochs >= 0, "checkpoint.every_epochs", "must be 0 or more, got \(checkpoint.everyEpochs)")
        try require(checkpoint.everySteps >= 0, "checkpoint.every_steps", "must be 0 or more, got \(checkpoint.everySteps)")
        try require(checkpoint.keepLast >= 1, "checkpoint.keep_last", "must be at least 1, got \(checkpoint.keepLast)")
        if let patience = config.earlyStopping.patience {
            try require(patience >= 0, "early_stopping.patience", "must be 0 or more, got \(patience)")
        }
        try require(config.earlyStopping.threshold >= 0, "early_stopping.threshold", "must be 0 or more, got \(config.earlyStopping.threshold)")
        if let maxSteps = config.training.maxSteps {
            try require(maxSteps >= 0, "training.max_steps", "must be 0 or more, got \(maxSteps)")
        }
        try require(["stop", "skip"].contains(config.training.onNonFinite), "training.on_nonfinite",
                    "must be stop or skip, got '\(config.training.onNonFinite)'")
        try require(config.distributed.bucketMegabytes > 0, "distributed.bucket_mb",
                    "must be positive, got \(config.distributed.bucketMegabytes)")
        try require(config.distributed.checkEvery >= 0, "distributed.check_every",
                    "must be 0 or more, got \(config.distributed.checkEvery)")
        try require(config.metrics.everySteps >= 0, "metrics.every_steps", "must be 0 or more, got \(config.metrics.everySteps)")
        try require(!config.runDirectory.isEmpty, "run_dir", "must not be empty")
        try require(config.logEvery >= 0, "log_every", "must be 0 or more, got \(config.logEvery)")
    }
}
