import Datasets
import Distributed
import Foundation
import NN
import TensorCore

/// Loss, top-1 and top-5 accuracy (and optionally a confusion matrix) over a whole data set,
/// summed over all ranks.
public struct Evaluation: Equatable, Sendable {
    public var classes: Int
    public var lossSum = 0.0, correct = 0.0, top5 = 0.0, count = 0.0
    /// Unreadable images replaced by others (`data.on_bad_image: skip`).
    public var replacedImages = 0.0
    /// classes × classes counts, row = true label, column = prediction (the highest logit,
    /// the first on ties); nil when not asked for.
    public var confusion: [Double]?

    public init(classes: Int, confusion: Bool = false) {
        self.classes = classes
        self.confusion = confusion ? Array(repeating: 0, count: classes * classes) : nil
    }

    public var meanLoss: Double { count > 0 ? lossSum / count : .nan }
    public var accuracy: Double { count > 0 ? correct / count : .nan }
    public var top5Accuracy: Double { count > 0 ? top5 / count : .nan }

    /// Samples of each class, and the share of them predicted correctly (nan for a class with none).
    public var classCounts: [Double] {
        guard let confusion else { return [] }
        return (0..<classes).map { row in confusion[(row * classes)..<((row + 1) * classes)].reduce(0, +) }
    }

    public var perClassAccuracy: [Double] {
        guard let confusion else { return [] }
        return zip(0..<classes, classCounts).map { row, total in total > 0 ? confusion[row * classes + row] / total : .nan }
    }
}

/// Evaluates a model on a data set sharded across ranks (DistributedSampler order, the last
/// batch split as evenly as possible): the trainer's validation and `cnn-dist evaluate`.
public final class Evaluator {
    let model: Model
    /// Further models whose probabilities are averaged with `model`'s (an ensemble; empty: one model).
    let ensemble: [Model]
    /// Further views of each image whose probabilities are averaged with the first's (test-time
    /// augmentation: `--ten-crop`'s other nine crops); empty: one view.
    let views: [any BatchMaking]
    private let viewBatch = Batch()
    /// Called after each batch with (batches done, batches in all): live progress.
    public var onBatch: ((Int, Int) -> Void)?
    /// Makes the validation batches: normalised, centre-cropped where training crops, never augmented.
    let batches: any BatchMaking
    let sampler: BatchSampler
    let communicator: Communicator
    let confusion: Bool
    private let batch = Batch()
    private let loss = SoftmaxCrossEntropy()
    /// The ensemble's log mean probabilities, and the sum they come from.
    private let averaged = Tensor(shape: [0])
    private var probabilitySums: [Double] = []

    /// `ensemble`: more models of the same shape, evaluated as one by averaging their softmax
    /// probabilities (AlexNet's five-CNN entry); loss, accuracy and confusion come from the mean.
    /// `views`: the same samples seen otherwise (other crops), averaged alike with `batches`' view.
    public init(model: Model, batches: any BatchMaking, globalBatchSize: Int, communicator: Communicator,
                confusion: Bool = false, ensemble: [Model] = [], views: [any BatchMaking] = []) throws {
        self.model = model
        self.ensemble = ensemble
        self.views = views
        self.batches = batches
        self.communicator = communicator
        self.confusion = confusion
        sampler = try BatchSampler(sampleCount: batches.sampleCount, globalBatchSize: globalBatchSize,
                                   rank: communicator.rank, worldSize: communicator.worldSize,
                                   shuffle: false, seed: 0, dropLast: false)
    }

    /// Plain images, normalised (no augmentation, no crop).
    public convenience init(model: Model, images: LabeledImages, normalization: Normalization?, globalBatchSize: Int,
                            communicator: Communicator, confusion: Bool = false) throws {
        try self.init(model: model, batches: try BatchMaker(images: images, normalization: normalization, seed: 0),
                      globalBatchSize: globalBatchSize, communicator: communicator, confusion: confusion)
    }

    /// Leaves the model in evaluation mode. Throws for an unreadable image (`data.on_bad_image: error`).
    public func evaluate() throws -> Evaluation {
        for member in [model] + ensemble { member.setTraining(false) }
        var result = Evaluation(classes: model.classes, confusion: confusion)
        for batch in 0..<sampler.batchesPerEpoch {
            let indices = sampler.indices(epoch: 0, batch: batch)
            if indices.isEmpty { continue }
            try batches.make(indices, epoch: nil, into: self.batch)
            let logits = ensemble.isEmpty && views.isEmpty
                ? model.forward(self.batch.input) : try averagedLogits(indices)
            let labels = self.batch.labels
            result.replacedImages += Double(self.batch.replaced.count)
            let batchResult = loss.forward(logits: logits, labels: labels)
            result.lossSum += batchResult.lossSum
            result.correct += Double(batchResult.correct)
            result.top5 += Double(TopK.hits(logits, labels: labels, k: 5))
            result.count += Double(batchResult.count)
            if confusion { count(logits, into: &result.confusion!) }
            onBatch?(batch + 1, sampler.batchesPerEpoch)
        }
        var sums = [result.lossSum, result.correct, result.top5, result.count, result.replacedImages]
            + (result.confusion ?? [])
        communicator.allReduceSum(&sums)
        (result.lossSum, result.correct, result.top5, result.count) = (sums[0], sums[1], sums[2], sums[3])
        result.replacedImages = sums[4]
        if confusion { result.confusion = Array(sums[5...]) }
        return result
    }

    /// log of the mean softmax probabilities over members and views: as logits, their softmax is
    /// that mean, so the loss is the average's −log p(label) and the arg-max its prediction.
    private func averagedLogits<Indices: Collection<Int>>(_ indices: Indices) throws -> Tensor {
        let members = [model] + ensemble, classes = model.classes, rows = batch.input.shape[0]
        probabilitySums = Array(repeating: 0, count: rows * classes)
        for view in [nil] + views.map(Optional.some) {
            let input: Tensor
            if let view {
                try view.make(indices, epoch: nil, into: viewBatch)
                input = viewBatch.input
            } else {
                input = batch.input
            }
            for member in members { addProbabilities(member.forward(input), rows: rows, classes: classes) }
        }
        averaged.reshape(rows, classes)
        let terms = Double(members.count * (views.count + 1))
        for i in 0..<(rows * classes) {
            averaged.pointer[i] = Float(Foundation.log(probabilitySums[i] / terms))
        }
        return averaged
    }

    private func addProbabilities(_ logits: Tensor, rows: Int, classes: Int) {
        for row in 0..<rows {
            let values = logits.pointer + row * classes
            var largest = values[0]
            for j in 1..<classes { largest = max(largest, values[j]) }
            var total = 0.0
            for j in 0..<classes { total += Foundation.exp(Double(values[j] - largest)) }
            for j in 0..<classes {
                probabilitySums[row * classes + j] += Foundation.exp(Double(values[j] - largest)) / total
            }
        }
    }

    private func count(_ logits: Tensor, into matrix: inout [Double]) {
        let classes = logits.shape[1]
        for (n, label) in batch.labels.enumerated() {
            let row = logits.pointer + n * classes
            var best = 0
            for j in 1..<classes where row[j] > row[best] { best = j }
            matrix[Int(label) * classes + best] += 1
        }
    }
}
