import Data
import Foundation

/// Loads the training and validation sets a config names.
enum Datasets {
    static func load(_ section: DataSection, seed: UInt64) throws -> (train: LabeledImages, validation: LabeledImages) {
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
            return try CIFAR100.load(directory: path, labelMode: CIFAR100.LabelMode(rawValue: section.labelMode) ?? .fine)
        default:
            try checkAvailable(section)
            throw TrainError.unknownDataset(section.dataset)
        }
    }

    /// Fails for a data set this build cannot load, naming it, the directory it looked in and
    /// the files it expects there. Reads no data: the trainer calls it before it touches the run directory.
    static func checkAvailable(_ section: DataSection) throws {
        guard let facts = Catalog.dataset(section.dataset) else { throw TrainError.unknownDataset(section.dataset) }
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

    /// The config's normalisation, or the dataset's documented default.
    static func normalization(_ section: DataSection, channels: Int) throws -> Normalization {
        if let mean = section.normalize?.mean, let std = section.normalize?.std {
            return try Normalization(mean: mean.map(Float.init), std: std.map(Float.init), channels: channels)
        }
        switch section.dataset {
        case "mnist": return try Normalization(mean: [MNIST.mean], std: [MNIST.std], channels: channels)
        case "cifar10": return try Normalization(mean: CIFAR10.mean, std: CIFAR10.std, channels: channels)
        case "cifar100": return try Normalization(mean: CIFAR100.mean, std: CIFAR100.std, channels: channels)
        default: return try Normalization(mean: Array(repeating: 0.5, count: channels),
                                          std: Array(repeating: 0.5, count: channels), channels: channels)
        }
    }

    /// The config's training augmentation (`data.augment`).
    static func augmentation(_ section: DataSection) -> Augmentation {
        let augment = section.augment
        return Augmentation(crop: augment.randomCrop,
                            horizontalFlip: augment.horizontalFlip,
                            lighting: augment.lighting > 0 ? PCALighting(alphaStd: Float(augment.lighting)) : nil)
    }

    /// Batch makers for the training and validation sets, with the config's normalisation and
    /// (for training) augmentation.
    static func batchMakers(_ section: DataSection, train: LabeledImages, validation: LabeledImages, seed: UInt64) throws
        -> (train: BatchMaker, validation: BatchMaker) {
        let normalization = try normalization(section, channels: train.channels)
        let augmentation = augmentation(section)
        return (try BatchMaker(images: train, normalization: normalization, augmentation: augmentation, seed: seed),
                try BatchMaker(images: validation, normalization: normalization, augmentation: augmentation, seed: seed))
    }
}
