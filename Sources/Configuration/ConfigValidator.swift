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
        // (A count below 1 is the key's own rule's to report.)
        require(config.training.microBatches < 1 || config.training.batchSize % config.training.microBatches == 0,
                "training.micro_batches",
                "is \(config.training.microBatches), which does not divide training.batch_size "
                    + "\(config.training.batchSize) into equal micro-batches")
        let data = config.data
        let facts = DatasetFacts.named(data.dataset)
        require(facts != nil, "data.dataset",
                "names an unknown dataset '\(data.dataset)'; known datasets: \(DatasetFacts.names.joined(separator: ", "))")
        if requireDataPath, let facts, facts.readsFiles, (data.path ?? "").isEmpty {
            found.append(("data.path", "is required for dataset \(facts.name): the directory holding the \(facts.files) (or pass --data DIR)"))
        }
        if let facts, !facts.readsFiles, let path = data.path {
            let fileSets = DatasetFacts.all.filter(\.readsFiles).map(\.name).joined(separator: ", ")
            found.append(("data.path", "is \(path), but dataset \(facts.name) reads no files: name the data set it "
                + "holds (data.dataset or --dataset: \(fileSets))"))
        }
        if (data.normalizeMean == nil) != (data.normalizeStd == nil) {
            found.append(("data.normalize", "needs both mean and std (one value per channel)"))
        } else if let normalize = data.normalize {
            require(normalize.mean.count == normalize.std.count && !normalize.mean.isEmpty, "data.normalize",
                    "needs mean and std of the same, non-zero length (one per channel), got \(normalize.mean.count) and \(normalize.std.count)")
        }
        require(data.labelMode == .fine || data.dataset == "cifar100", "data.label_mode",
                "coarse labels exist only in cifar100, not in \(data.dataset)")
        let imageFolders = facts?.readsImageFiles == true
        let imageShape = imageFolders ? [data.channels, data.imageSize, data.imageSize] : facts?.inputShape
        found += imageFolderViolations(data, imageFolders: imageFolders)
        if data.augment.lighting > 0, let channels = imageShape?.first {
            require(channels == 3, "data.augment.lighting", "needs RGB images; \(data.dataset) has \(channels) channel(s)")
        }
        if let size = data.augment.randomCropSize, let shape = imageShape, !imageFolders {
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

    /// Keys that only image folders read, and how an image folder's crops fit together.
    func imageFolderViolations(_ data: DataSection, imageFolders: Bool) -> [(String, String)] {
        let defaults = DataSection(), augmentDefaults = AugmentSection()
        guard imageFolders else {
            let onlyForFolders: [(String, Bool)] = [
                ("data.train_path", data.trainPath != nil), ("data.val_path", data.validationPath != nil),
                ("data.classes_file", data.classesFile != nil), ("data.channels", data.channels != defaults.channels),
                ("data.image_size", data.imageSize != defaults.imageSize), ("data.resize", data.resize != nil),
                ("data.augment.random_resized_crop.enabled", data.augment.randomResizedCrop),
                ("data.augment.color_jitter", data.augment.brightness != augmentDefaults.brightness
                    || data.augment.contrast != augmentDefaults.contrast
                    || data.augment.saturation != augmentDefaults.saturation),
            ]
            return onlyForFolders.filter(\.1).map {
                ($0.0, "applies to image folders (data.dataset: imagefolder or imagenet), not to \(data.dataset)")
            }
        }
        var found: [(String, String)] = []
        if let size = data.augment.randomCropSize, size != data.imageSize || data.augment.randomCropPadding != 0 {
            found.append(("data.augment.random_crop",
                          "on image folders is a crop of data.image_size (\(data.imageSize)) "
                + "without padding after the resize; got size \(size), padding \(data.augment.randomCropPadding)"))
        }
        if data.augment.randomResizedCrop && data.augment.randomCropSize != nil {
            found.append(("data.augment.random_crop",
                          "and random_resized_crop.enabled are two ways to crop: choose one"))
        }
        if data.resolvedResize < data.imageSize {
            found.append(("data.resize", "must be at least data.image_size (\(data.imageSize)) for the crop to fit, "
                + "got \(data.resolvedResize)"))
        }
        if (data.augment.contrast > 0 || data.augment.saturation > 0) && data.channels != 3 {
            found.append(("data.augment.color_jitter", "contrast and saturation need RGB images (data.channels: 3)"))
        }
        return found
    }
}
