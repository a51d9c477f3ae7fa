import Configuration
import Datasets
import NN

/// A config's data, ready to batch, and the model built for it: what training, evaluation and
/// `bench pipeline` all start from.
public struct RunData {
    /// The data set's name, for logs.
    public let name: String
    /// Training batches (augmented) and validation batches (the centre crop where training crops),
    /// both with the config's normalisation.
    public let makers: (train: any BatchMaking, validation: any BatchMaking)
    /// The data set's own classes, and their names where it has them (image folders).
    public let datasetClasses: Int
    public let classNames: [String]?
    /// The model's outputs: `model.classes`, else the data set's.
    public let classes: Int

    public var trainCount: Int { makers.train.sampleCount }
    public var validationCount: Int { makers.validation.sampleCount }

    /// Loads the data set: its files present, every label one of `classes`.
    public init(_ config: TrainConfig) throws {
        try DatasetLoader.checkAvailable(config.data)
        let facts = DatasetFacts.named(config.data.dataset)
        if facts?.readsImageFiles == true {
            let makers = try DatasetLoader.imageBatchMakers(config.data, seed: config.training.seed)
            self.makers = (makers.train, makers.validation)
            name = config.data.dataset
            classNames = makers.train.images.classNames
            datasetClasses = makers.train.images.classNames.count
        } else {
            let (train, validation) = try DatasetLoader.load(config.data, seed: config.training.seed)
            let makers = try DatasetLoader.batchMakers(
                config.data, train: train, validation: validation,
                seed: config.training.seed)
            self.makers = (makers.train, makers.validation)
            name = train.name
            classNames = nil
            datasetClasses = train.classes
        }
        classes = config.model.classes ?? datasetClasses
        try DatasetLoader.checkLabels(
            makers.train.labels, dataset: name, datasetClasses: datasetClasses, split: "training",
            classes: classes)
        try DatasetLoader.checkLabels(
            makers.validation.labels, dataset: name, datasetClasses: datasetClasses,
            split: "validation", classes: classes)
    }

    /// The config's model for this data's image shape and classes.
    public func makeModel(_ section: ModelSection) throws -> Model {
        try ModelFactory.make(section, inputShape: makers.train.imageShape, classes: classes)
    }
}
