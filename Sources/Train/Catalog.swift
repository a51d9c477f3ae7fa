import Data
import NN

/// What is known about a data set without loading it: its image shape and classes (what
/// `cnn-dist summary --config` builds the model for), and where its files come from.
public struct DatasetFacts: Equatable, Sendable {
    public let name: String
    /// One image, [C, H, W].
    public let inputShape: [Int]
    public let classes: Int
    /// Read from `data.path`; false for data sets generated in memory.
    public let readsFiles: Bool
    /// What `data.path` must hold, for error messages ("IDX files").
    public let files: String
    /// Files or folders whose presence in `data.path` shows the data set is there.
    public let markers: [String]
    /// Nil where this build loads the data set; else why not, for the error training stops with
    /// before it touches the run directory.
    public let missingLoader: String?
}

/// Names the command-line tool needs without importing the layers themselves.
public enum Catalog {
    public static var models: [String] { ModelZoo.names }

    /// Every data set a config may name, the one table of their shapes and classes.
    public static let datasetFacts: [DatasetFacts] = [
        DatasetFacts(name: "synthetic", inputShape: [1, 28, 28], classes: 10, readsFiles: false,
                     files: "", markers: [], missingLoader: nil),
        DatasetFacts(name: "mnist", inputShape: [1, 28, 28], classes: 10, readsFiles: true,
                     files: "IDX files", markers: [], missingLoader: nil),
        DatasetFacts(name: "cifar10", inputShape: [3, 32, 32], classes: 10, readsFiles: true,
                     files: "CIFAR-10 binary files (data_batch_1.bin … data_batch_5.bin, test_batch.bin)",
                     markers: (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"],
                     missingLoader: nil),
        DatasetFacts(name: "cifar100", inputShape: [3, 32, 32], classes: 100, readsFiles: true,
                     files: "CIFAR-100 binary files (train.bin, test.bin)", markers: ["train.bin", "test.bin"],
                     missingLoader: nil),
        DatasetFacts(name: "imagenet", inputShape: [3, 224, 224], classes: 1000, readsFiles: true,
                     files: "ImageNet class folders (train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, torchvision's ImageFolder layout)",
                     markers: ["train", "val"], missingLoader: "this build has no ImageNet loader yet"),
    ]

    public static var datasets: [String] { datasetFacts.map(\.name) }

    public static func dataset(_ name: String) -> DatasetFacts? { datasetFacts.first { $0.name == name } }
}

extension Catalog {
    /// What `model` is built for when only its name is given: the zoo's default input shape,
    /// and the classes of the first data set of that shape (1000 for ImageNet's 3x224x224).
    public static func defaults(model: String) -> (inputShape: [Int], classes: Int) {
        let shape = ModelZoo.defaultInputShape(model)
        return (shape, datasetFacts.first { $0.inputShape == shape }?.classes ?? 10)
    }

    /// What a config's model is built for: its data set's shape (the crop size where
    /// `data.augment.random_crop` crops) and classes (CIFAR-100's 20 superclasses with
    /// `data.label_mode: coarse`; model.classes overriding), or, for a data set of unknown
    /// shape, the model's defaults.
    public static func shapes(for config: TrainConfig) -> (inputShape: [Int], classes: Int) {
        let fallback = defaults(model: config.model.name)
        let facts = dataset(config.data.dataset)
        var inputShape = facts?.inputShape ?? fallback.inputShape
        if let crop = config.data.augment.randomCrop, facts != nil { inputShape = [inputShape[0], crop.size, crop.size] }
        let classes = config.data.labelMode == "coarse" && facts?.name == "cifar100" ? CIFAR100.LabelMode.coarse.classes : facts?.classes
        return (inputShape, config.model.classes ?? classes ?? fallback.classes)
    }

    /// Builds a zoo model, for `inputShape` and `classes` or else its defaults.
    public static func makeModel(_ name: String, inputShape: [Int]? = nil, classes: Int? = nil) throws -> Model {
        guard models.contains(name) else { throw NNError.unknownModel(name: name, known: models) }
        let fallback = defaults(model: name)
        return try ModelZoo.make(name, inputShape: inputShape ?? fallback.inputShape, classes: classes ?? fallback.classes)
    }
}
