import Configuration
import Datasets
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
        let classes = config.data.labelMode == .coarse && facts?.name == "cifar100" ? CIFAR100.LabelMode.coarse.classes : facts?.classes
        return (inputShape, config.model.classes ?? classes ?? fallback.classes)
    }

    /// Builds a zoo model, for `inputShape` and `classes` or else its defaults.
    public static func makeModel(_ name: String, inputShape: [Int]? = nil, classes: Int? = nil) throws -> Model {
        guard models.contains(name) else { throw NNError.unknownModel(name: name, known: models) }
        let fallback = defaults(model: name)
        return try ModelZoo.make(name, inputShape: inputShape ?? fallback.inputShape, classes: classes ?? fallback.classes)
    }
}
