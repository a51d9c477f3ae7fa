import Datasets
import Yams

/// The rules a config's values must follow: each key's own rule (from `ConfigSchema`), then
/// the rules that tie keys together. Problems point at the line of the value in the document.
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

    func problem(_ keyPath: String, _ message: String) -> ConfigError {
        ConfigError(source: source, line: line(of: keyPath), keyPath: keyPath, message: "'\(keyPath)' \(message)")
    }

    func problems(_ config: TrainConfig, knownModels: [String], requireDataPath: Bool = true) -> [ConfigError] {
        var found = ConfigSchema.keys.compactMap { key in key.violation(config).map { problem(key.path, $0) } }
        for (keyPath, message) in crossKeyViolations(config, knownModels: knownModels, requireDataPath: requireDataPath) {
            found.append(problem(keyPath, message))
        }
        return found
    }

    /// Rules that involve more than one key, or facts outside the config (known models and data sets).
    func crossKeyViolations(_ config: TrainConfig, knownModels: [String], requireDataPath: Bool) -> [(String, String)] {
        var found: [(String, String)] = []
        func require(_ condition: Bool, _ keyPath: String, _ message: @autoclosure () -> String) {
            if !condition { found.append((keyPath, message())) }
        }
        require(config.model.layers != nil || knownModels.contains(config.model.name), "model.name",
                "names an unknown model '\(config.model.name)'; known models: \(knownModels.joined(separator: ", "))")
        let data = config.data
        let facts = DatasetFacts.named(data.dataset)
        require(facts != nil, "data.dataset",
                "names an unknown dataset '\(data.dataset)'; known datasets: \(DatasetFacts.names.joined(separator: ", "))")
        if requireDataPath, let facts, facts.readsFiles, (data.path ?? "").isEmpty {
            found.append(("data.path", "is required for dataset \(facts.name): the directory holding the \(facts.files) (or pass --data DIR)"))
        }
        if (data.normalizeMean == nil) != (data.normalizeStd == nil) {
            found.append(("data.normalize", "needs both mean and std (one value per channel)"))
        } else if let normalize = data.normalize {
            require(normalize.mean.count == normalize.std.count && !normalize.mean.isEmpty, "data.normalize",
                    "needs mean and std of the same, non-zero length (one per channel), got \(normalize.mean.count) and \(normalize.std.count)")
        }
        require(data.labelMode == .fine || data.dataset == "cifar100", "data.label_mode",
                "coarse labels exist only in cifar100, not in \(data.dataset)")
        let imageShape = facts?.inputShape
        if data.augment.lighting > 0, let channels = imageShape?.first {
            require(channels == 3, "data.augment.lighting", "needs RGB images; \(data.dataset) has \(channels) channel(s)")
        }
        if let size = data.augment.randomCropSize, let shape = imageShape {
            let side = min(shape[1], shape[2])
            require(size <= side, "data.augment.random_crop.size",
                    "must lie in 1...\(side) (the \(data.dataset) images; validation takes the centre crop), got \(size)")
        }
        // Padding without a size is a crop the user forgot; the resolved config's `size: null, padding: 0` is no crop.
        if data.augment.randomCropSize == nil && data.augment.randomCropPadding != 0 {
            found.append(("data.augment.random_crop", "needs a size (and padding, default 0)"))
        }
        if config.optimizer.nesterov {
            require(config.optimizer.momentum > 0 && config.optimizer.dampening == 0, "optimizer.nesterov",
                    "requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
        }
        if config.lrSchedule.name == .multistep {
            require(!config.lrSchedule.milestones.isEmpty, "lr_schedule.milestones", "must list at least one milestone for multistep")
        }
        return found
    }
}
