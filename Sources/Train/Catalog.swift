import Configuration
import Datasets
import Foundation
import NN

/// Names the command-line tool needs without importing the layers themselves.
public enum Catalog {
    public static var models: [String] { ModelZoo.names }

    /// What `model` is built for when only its name is given: the zoo's default input shape,
    /// and the classes of the first data set of that shape (1000 for ImageNet's 3x224x224).
    public static func defaults(model: String) -> (inputShape: [Int], classes: Int) {
        let shape = ModelZoo.defaultInputShape(model)
        return (shape, DatasetFacts.all.first { $0.inputShape == shape }?.classes ?? 10)
    }

    /// What a config's model is built for: its data set's shape (the crop size where
    /// `data.augment.random_crop` crops) and classes (CIFAR-100's 20 superclasses with
    /// `data.label_mode: coarse`; model.classes overriding), or, for a data set of unknown
    /// shape, the model's defaults.
    public static func shapes(for config: TrainConfig) -> (inputShape: [Int], classes: Int) {
        let fallback = defaults(model: config.model.name)
        let facts = DatasetFacts.named(config.data.dataset)
        var inputShape = facts?.inputShape ?? fallback.inputShape
        if let crop = config.data.augment.randomCrop, facts != nil { inputShape = [inputShape[0], crop.size, crop.size] }
        var classes = config.data.labelMode == .coarse && facts?.name == "cifar100"
            ? CIFAR100.LabelMode.coarse.classes : facts?.classes
        if facts?.readsImageFiles == true {
            let data = config.data
            inputShape = [data.channels, data.imageSize, data.imageSize]
            // The folders' classes (an ImageNet subset has fewer than 1000), else ImageNet's 1000.
            classes = classFolderCount(data) ?? (facts?.name == "imagenet" ? facts?.classes : nil)
        }
        return (inputShape, config.model.classes ?? classes ?? fallback.classes)
    }

    /// An image folder's class count without reading its images: the training folder's class
    /// folders (or a packed set's manifest); nil when there is no folder to count.
    static func classFolderCount(_ data: DataSection) -> Int? {
        guard let root = data.path ?? data.trainPath else { return nil }
        if data.trainPath == nil, PackedImages.isPackedSet(root) {
            return (try? PackManifest.read(directory: root))?.classes.count
        }
        let train = data.trainPath ?? (root as NSString).appendingPathComponent("train")
        return (try? ImageFileList.classFolders(in: train))?.count
    }

    /// Builds a zoo model, for `inputShape` and `classes` or else its defaults.
    public static func makeModel(_ name: String, inputShape: [Int]? = nil, classes: Int? = nil) throws -> Model {
        guard models.contains(name) else { throw NNError.unknownModel(name: name, known: models) }
        let fallback = defaults(model: name)
        return try ModelZoo.make(name, inputShape: inputShape ?? fallback.inputShape, classes: classes ?? fallback.classes)
    }
}
