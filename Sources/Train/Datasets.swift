import Data

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
        default:
            throw TrainError.unknownDataset(section.dataset)
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
        default: return try Normalization(mean: Array(repeating: 0.5, count: channels),
                                          std: Array(repeating: 0.5, count: channels), channels: channels)
        }
    }
}
