import Configuration
import Datasets
import NN

/// A config's data, ready to batch, and the model built for it: what training, evaluation and
/// `bench pipeline` all start from.
public struct RunData {
    public let train: LabeledImages
    public let validation: LabeledImages
    /// Training batches (augmented) and validation batches (the centre crop where training crops),
    /// both with the config's normalisation.
    public let makers: (train: BatchMaker, validation: BatchMaker)
    /// The model's outputs: `model.classes`, else the data set's.
    public let classes: Int

    /// Loads the data set: its files present, every label one of `classes`.
    public init(_ config: TrainConfig) throws {
        try DatasetLoader.checkAvailable(config.data)
        (train, validation) = try DatasetLoader.load(config.data, seed: config.training.seed)
        makers = try DatasetLoader.batchMakers(config.data, train: train, validation: validation,
                                               seed: config.training.seed)
        classes = config.model.classes ?? train.classes
        try DatasetLoader.checkLabels(train, split: "training", classes: classes)
        try DatasetLoader.checkLabels(validation, split: "validation", classes: classes)
    }

    /// The config's model for this data's image shape and classes.
    public func makeModel(_ section: ModelSection) throws -> Model {
        try ModelFactory.make(section, inputShape: makers.train.imageShape, classes: classes)
    }
}
