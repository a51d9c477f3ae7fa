import Configuration
import Datasets
import Foundation

/// Loads the training and validation sets a config names.
public enum DatasetLoader {
    public static func load(_ section: DataSection, seed: UInt64) throws -> (train: LabeledImages, validation: LabeledImages) {
        switch section.dataset {
        case "synthetic":
            let images = Double(section.trainSamples) + Double(section.validationSamples)
            try MemoryBudget.require(images * 28 * 28 * 4, for: "the synthetic data set (\(section.trainSamples) "
                + "training and \(section.validationSamples) validation images of 1x28x28, held in memory)",
                advice: "lower data.train_samples or data.validation_samples")
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
        if facts.readsImageFiles {
            // Either a packed set, or both splits' folders (or list files) where the config says.
            let root = section.path
            if let root, section.trainPath == nil, section.validationPath == nil, PackedImages.isPackedSet(root) {
                return
            }
            func inRoot(_ name: String) -> String? { root.map { ($0 as NSString).appendingPathComponent(name) } }
            for (path, split) in [(section.trainPath ?? inRoot("train"), "train"),
                                  (section.validationPath ?? inRoot("val"), "val")] {
                guard let path else { throw TrainError.missingDataPath(dataset: section.dataset) }
                if !FileManager.default.fileExists(atPath: path) {
                    throw TrainError.datasetUnavailable(dataset: facts.name,
                                                        reason: "no \(split) split at \(path): expected \(facts.files)")
                }
            }
            return
        }
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
    public static func checkLabels(_ labels: [Int32], dataset: String, datasetClasses: Int, split: String,
                                   classes: Int) throws {
        guard let record = labels.firstIndex(where: { $0 < 0 || Int($0) >= classes }) else { return }
        throw TrainError.labelOutOfRange(dataset: dataset, split: split, record: record,
                                         label: Int(labels[record]), classes: classes,
                                         datasetClasses: max(datasetClasses, Int(labels.max() ?? 0) + 1))
    }

    /// The config's normalisation, or the dataset's documented default.
    public static func normalization(_ section: DataSection, channels: Int) throws -> Normalization {
        if let mean = section.normalize?.mean, let std = section.normalize?.std {
            return try Normalization(mean: mean.map(Float.init), std: std.map(Float.init), channels: channels)
        }
        var defaults = DatasetFacts.named(section.dataset)?.defaultNormalization
            ?? (mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels))
        if defaults.mean.count != channels {
            // Image folders read as grey: the channels' average statistics (0.5 where there are none).
            let mean = defaults.mean.reduce(0, +) / Float(defaults.mean.count)
            let std = defaults.std.reduce(0, +) / Float(defaults.std.count)
            defaults = (Array(repeating: mean, count: channels), Array(repeating: std, count: channels))
        }
        return try Normalization(mean: defaults.mean, std: defaults.std, channels: channels)
    }

    /// The image pipelines of an image-folder config: training (`data.augment`) and validation
    /// (resize, centre crop), both with the config's normalisation.
    public static func imagePipelines(_ section: DataSection) throws
        -> (train: ImagePipeline, validation: ImagePipeline) {
        let normalization = try normalization(section, channels: section.channels)
        let augment = section.augment
        let trainGeometry: ImageGeometry = augment.randomResizedCrop
            ? .randomResizedCrop(size: section.imageSize,
                                 scale: augment.randomResizedCropScale[0]...augment.randomResizedCropScale[1],
                                 ratio: augment.randomResizedCropRatio[0]...augment.randomResizedCropRatio[1])
            : .resizeAndCrop(resize: section.resolvedResize, crop: section.imageSize,
                             random: augment.randomCropSize != nil)
        let jitter = ColorJitter(brightness: Float(augment.brightness), contrast: Float(augment.contrast),
                                 saturation: Float(augment.saturation))
        let train = ImagePipeline(geometry: trainGeometry, channels: section.channels,
                                  horizontalFlip: augment.horizontalFlip,
                                  colorJitter: jitter.isIdentity ? nil : jitter,
                                  lighting: augment.lighting > 0 ? PCALighting(alphaStd: Float(augment.lighting)) : nil,
                                  normalization: normalization, reducedDecoding: section.reducedDecoding)
        let validation = ImagePipeline(geometry: .resizeAndCrop(resize: section.resolvedResize, crop: section.imageSize,
                                                                random: false),
                                       channels: section.channels, normalization: normalization,
                                       // Validation decodes at full size: its figures (and predict's)
                                       // then equal torchvision's to the bit.
                                       reducedDecoding: false)
        return (train, validation)
    }

    /// Batch makers for an image-folder config: its folders, list files or packed set.
    public static func imageBatchMakers(_ section: DataSection, seed: UInt64) throws
        -> (train: ImageBatchMaker, validation: ImageBatchMaker) {
        let splits = try ImageSplits.open(root: section.path, train: section.trainPath,
                                          validation: section.validationPath, classesFile: section.classesFile)
        let pipelines = try imagePipelines(section)
        return (ImageBatchMaker(images: splits.train, pipeline: pipelines.train, seed: seed, workers: section.workers,
                                onBadImage: section.onBadImage),
                ImageBatchMaker(images: splits.validation, pipeline: pipelines.validation, seed: seed,
                                workers: section.workers, onBadImage: section.onBadImage))
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
