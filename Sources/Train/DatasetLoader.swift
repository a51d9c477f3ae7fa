import Configuration
import Datasets
import Foundation

/// Loads the training and validation sets a config names.
public enum DatasetLoader {
    public static func load(_ section: DataSection, seed: UInt64) throws -> (train: LabeledImages, validation: LabeledImages) {
        switch section.dataset {
        case "synthetic":
            return SyntheticShapes.load(trainCount: section.trainSamples, validationCount: section.validationSamples,
                                        seed: seed)
        case "mnist":
            guard let path = section.path else { throw TrainError.missingDataPath(dataset: section.dataset) }
            return try MNIST.load(directory: path, trainSplit: section.trainSplit)
        case "cifar10":
            guard let path = section.path else { throw TrainError.missingDataPath(dataset: section.dataset) }
            return try CIFAR10.load(directory: path)
        case "cifar100":
            guard let path = section.path else { throw TrainError.missingDataPath(dataset: section.dataset) }
            return try CIFAR100.load(directory: path, labelMode: section.labelMode)
        default:
            try checkAvailable(section)
            throw TrainError.unknownDataset(section.dataset)
        }
    }

    /// Fails for a data set this build cannot load, naming it, the directory it looked in and
    /// the files it expects there. Reads no data: the trainer calls it before it touches the run directory.
    public static func checkAvailable(_ section: DataSection) throws {
        guard let facts = DatasetFacts.named(section.dataset) else { throw TrainError.unknownDataset(section.dataset) }
        guard facts.readsFiles, !facts.markers.isEmpty else { return }
        let directory = section.path ?? "."
        let found = facts.markers.filter {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
        }
        let exists = FileManager.default.fileExists(atPath: directory)
        if let missingLoader = facts.missingLoader {
            throw TrainError.datasetUnavailable(dataset: facts.name, reason: found.count == facts.markers.count
                ? "\(directory) holds the \(facts.files), but \(missingLoader)"
                : "no \(facts.files) in \(directory)\(exists ? "" : " (no such directory)"); \(missingLoader)")
        }
        // With a loader: fail early only when none of the files is there; the loader
        // reports incomplete or malformed files itself.
        if found.isEmpty {
            throw TrainError.datasetUnavailable(dataset: facts.name,
                                                reason: "no \(facts.files) in \(directory)\(exists ? "" : " (no such directory)")")
        }
    }

    /// Every label must name one of the model's `classes` outputs: a smaller head than the data set's
    /// would index past the logits.
    public static func checkLabels(_ images: LabeledImages, split: String, classes: Int) throws {
        guard let record = images.labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) else { return }
        throw TrainError.labelOutOfRange(dataset: images.name, split: split, record: record,
                                         label: Int(images.labels[record]), classes: classes,
                                         datasetClasses: max(images.classes, Int(images.labels.max() ?? 0) + 1))
    }

    /// The config's normalisation, or the dataset's documented default.
    public static func normalization(_ section: DataSection, channels: Int) throws -> Normalization {
        if let mean = section.normalize?.mean, let std = section.normalize?.std {
            return try Normalization(mean: mean.map(Float.init), std: std.map(Float.init), channels: channels)
        }
        let defaults = DatasetFacts.named(section.dataset)?.defaultNormalization
            ?? (mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels))
        return try Normalization(mean: defaults.mean, std: defaults.std, channels: channels)
    }

    /// The config's training augmentation (`data.augment`).
    public static func augmentation(_ section: DataSection) -> Augmentation {
        let augment = section.augment
        return Augmentation(crop: augment.randomCrop,
                            horizontalFlip: augment.horizontalFlip,
                            lighting: augment.lighting > 0 ? PCALighting(alphaStd: Float(augment.lighting)) : nil)
    }

    /// Batch makers for the training and validation sets, with the config's normalisation and
    /// (for training) augmentation.
    public static func batchMakers(_ section: DataSection, train: LabeledImages, validation: LabeledImages, seed: UInt64) throws
        -> (train: BatchMaker, validation: BatchMaker) {
        let normalization = try normalization(section, channels: train.channels)
        let augmentation = augmentation(section)
        return (try BatchMaker(images: train, normalization: normalization, augmentation: augmentation, seed: seed),
                try BatchMaker(images: validation, normalization: normalization, augmentation: augmentation, seed: seed))
    }
}
