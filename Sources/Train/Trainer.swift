import Data
import Distributed
import Foundation
import NN
import Optim
import TensorCore

/// The training loop: per step shard batch → forward → loss → backward → average gradients
/// → SGD; per epoch validation, a log line and a metrics record.
public final class Trainer {
    public let config: TrainConfig
    public let communicator: Communicator
    public let model: Model
    let optimizer: SGD
    let train: LabeledImages
    let validation: LabeledImages
    let normalization: Normalization
    let trainSampler: BatchSampler
    let validationSampler: BatchSampler
    let log: (String) -> Void
    let runDirectory: RunDirectory?
    let buckets: GradientBuckets

    public init(config: TrainConfig, communicator: Communicator = SingleProcessCommunicator(),
                log: @escaping (String) -> Void = { print($0) }) throws {
        self.config = config
        self.communicator = communicator
        self.log = communicator.isCoordinator ? log : { _ in }

        // The run directory is checked first: an unwritable one fails before any work is done.
        runDirectory = communicator.isCoordinator ? try RunDirectory(path: config.runDirectory) : nil

        (train, validation) = try Datasets.load(config.data, seed: config.training.seed)
        normalization = try Datasets.normalization(config.data, channels: train.channels)
        let classes = config.model.classes ?? train.classes
        model = try ModelZoo.make(config.model.name, inputShape: [train.channels, train.height, train.width],
                                  classes: classes)
        model.initializeParameters(seed: config.training.seed)
        ReplicaSynchronization.broadcastFromCoordinator(model, communicator: communicator)
        optimizer = SGD(parameters: model.namedParameters(), options: SGD.Options(
            learningRate: config.optimizer.lr, momentum: config.optimizer.momentum,
            dampening: config.optimizer.dampening, nesterov: config.optimizer.nesterov,
            weightDecay: config.optimizer.weightDecay))
        trainSampler = try BatchSampler(sampleCount: train.count, globalBatchSize: config.training.batchSize,
                                        rank: communicator.rank, worldSize: communicator.worldSize,
                                        shuffle: config.data.shuffle, seed: config.training.seed, dropLast: true)
        validationSampler = try BatchSampler(sampleCount: validation.count, globalBatchSize: config.training.batchSize,
                                             rank: communicator.rank, worldSize: communicator.worldSize,
                                             shuffle: false, seed: config.training.seed, dropLast: false)
        let parameters = model.namedParameters().map(\.parameter)
        buckets = GradientBuckets(parameters: parameters,
                                  capacityBytes: Int(config.distributed.bucketMegabytes * 1_048_576),
                                  communicator: communicator)
        buckets.attach(to: model)
        try runDirectory?.writeConfig(config.resolvedYAML())
        try runDirectory?.startMetrics()
    }

    var schedule: LearningRateSchedule {
        switch config.lrSchedule.name {
        case "step": return .step(stepSize: config.lrSchedule.stepSize, gamma: config.lrSchedule.gamma)
        default: return .constant
        }
    }

    /// Trains for the configured epochs; returns every epoch's metrics.
    @discardableResult
    public func run() throws -> [EpochMetrics] {
        log("cnn-dist: \(model.name) (\(model.parameterCount) parameters), \(train.name) \(train.count) train / "
            + "\(validation.count) validation, global batch \(config.training.batchSize), "
            + "\(communicator.worldSize) rank(s) (\(communicator.backendName)) × \(Parallel.threadCount) thread(s), "
            + "\(buckets.bucketCount) gradient bucket(s)")
        var history: [EpochMetrics] = []
        let start = Date()
        var step = 0
        for epoch in 0..<config.training.epochs {
            optimizer.learningRate = schedule.learningRate(base: config.optimizer.lr, epoch: epoch)
            let epochStart = Date()
            let trained = try trainEpoch(epoch, step: &step)
            let seconds = Date().timeIntervalSince(epochStart)
            try ReplicaSynchronization.verify(model, communicator: communicator, step: step)
            let validated = evaluate()
            let metrics = EpochMetrics(
                epoch: epoch + 1, step: step, learningRate: optimizer.learningRate,
                trainLoss: trained.meanLoss, trainAccuracy: trained.accuracy,
                validationLoss: validated.meanLoss, validationAccuracy: validated.accuracy,
                imagesPerSecond: Double(trained.count) / max(seconds, 1e-9),
                time: Date().timeIntervalSince(start))
            history.append(metrics)
            log(metrics.logLine(epochs: config.training.epochs))
            try runDirectory?.appendMetrics(metrics)
        }
        if communicator.worldSize > 1 {
            log("replicas verified identical on all \(communicator.worldSize) ranks at step \(step)")
        }
        try runDirectory?.writeModel(model, metadata: ["model": model.name, "step": String(step),
                                                       "world_size": String(communicator.worldSize)])
        return history
    }

    /// Loss and accuracy sums over all ranks.
    struct Totals {
        var lossSum = 0.0, correct = 0.0, count = 0.0
        var meanLoss: Double { count > 0 ? lossSum / count : .nan }
        var accuracy: Double { count > 0 ? correct / count : .nan }
    }

    func trainEpoch(_ epoch: Int, step: inout Int) throws -> Totals {
        model.setTraining(true)
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        let loss = SoftmaxCrossEntropy()
        var totals = Totals()
        let permutation = trainSampler.permutation(epoch: epoch)
        for batch in 0..<trainSampler.batchesPerEpoch {
            let indices = trainSampler.indices(batch: batch, permutation: permutation)
            makeBatch(train, indices: indices, normalization: normalization, into: input, labels: &labels)
            buckets.beginStep()
            let logits = model.forward(input)
            let result = loss.forward(logits: logits, labels: labels)
            guard result.lossSum.isFinite else {
                throw TrainError.nonFiniteLoss(epoch: epoch + 1, step: step + 1, value: result.lossSum)
            }
            model.backward(loss.gradient)
            buckets.finishStep()
            optimizer.step()
            step += 1
            if config.distributed.checkEvery > 0 && step % config.distributed.checkEvery == 0 {
                try ReplicaSynchronization.verify(model, communicator: communicator, step: step)
            }
            totals.lossSum += result.lossSum
            totals.correct += Double(result.correct)
            totals.count += Double(result.count)
            if config.logEvery > 0 && step % config.logEvery == 0 {
                log(String(format: "  step %d  loss %.4f  acc %.2f%%", step, result.meanLoss,
                           100 * Double(result.correct) / Double(max(result.count, 1))))
            }
        }
        return reduced(totals)
    }

    /// Loss and top-1 accuracy over the whole validation set (sharded across ranks).
    func evaluate() -> Totals {
        model.setTraining(false)
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        let loss = SoftmaxCrossEntropy()
        var totals = Totals()
        for batch in 0..<validationSampler.batchesPerEpoch {
            let indices = validationSampler.indices(epoch: 0, batch: batch)
            if indices.isEmpty { continue }
            makeBatch(validation, indices: indices, normalization: normalization, into: input, labels: &labels)
            let result = loss.forward(logits: model.forward(input), labels: labels)
            totals.lossSum += result.lossSum
            totals.correct += Double(result.correct)
            totals.count += Double(result.count)
        }
        return reduced(totals)
    }

    func reduced(_ totals: Totals) -> Totals {
        var sums = [totals.lossSum, totals.correct, totals.count]
        communicator.allReduceSum(&sums)
        return Totals(lossSum: sums[0], correct: sums[1], count: sums[2])
    }
}
