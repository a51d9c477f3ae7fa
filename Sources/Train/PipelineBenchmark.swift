import Data
import Distributed
import Foundation
import TensorCore

/// Whether the input pipeline shows in the step time: a config's model trains on its data
/// set, augmented, for the same steps twice — once taking batches from the prefetcher
/// (`data.prefetch` ahead on a background queue, as training does), once on batches all made
/// before the clock starts. A ratio near 1 means decoding, augmentation and batching are hidden.
public enum PipelineBenchmark {
    public struct Result: Sendable {
        public var model: String
        public var globalBatch: Int
        public var ranks: Int
        public var steps: Int
        public var prefetch: Int
        public var pipelineImagesPerSecond: Double
        public var premadeImagesPerSecond: Double
        public var ratio: Double { pipelineImagesPerSecond / premadeImagesPerSecond }

        public var jsonLine: String {
            String(format: "{\"model\":\"%@\",\"batch\":%d,\"ranks\":%d,\"steps\":%d,\"pipeline_images_per_sec\":%.1f,"
                   + "\"premade_images_per_sec\":%.1f,\"ratio\":%.4f,\"prefetch\":%d}",
                   model, globalBatch, ranks, steps, pipelineImagesPerSecond, premadeImagesPerSecond, ratio, prefetch)
        }
    }

    /// Runs under the launcher this process has (MPI ranks under mpirun, else one process);
    /// returns the JSON line on rank 0, nil on the other ranks.
    public static func launch(config: TrainConfig, steps: Int, warmup: Int) throws -> String? {
        let communicator: Communicator = MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: config.training.threads, ranksOnNode: communicator.localSize)
        let result = TrainingLauncher.runOrAbort(communicator) {
            try run(config: config, steps: steps, warmup: warmup, communicator: communicator)
        }
        communicator.finish()
        return communicator.isCoordinator ? result.jsonLine : nil
    }

    public static func run(config: TrainConfig, steps: Int, warmup: Int, communicator: Communicator) throws -> Result {
        try Datasets.checkAvailable(config.data)
        let (train, validation) = try Datasets.load(config.data, seed: config.training.seed)
        let maker = try Datasets.batchMakers(config.data, train: train, validation: validation, seed: config.training.seed).train
        let model = try ModelFactory.make(config.model, inputShape: maker.imageShape, classes: config.model.classes ?? train.classes)
        let trainer = StepTrainer(model: model, communicator: communicator)
        let sampler = try BatchSampler(sampleCount: train.count, globalBatchSize: config.training.batchSize,
                                       rank: communicator.rank, worldSize: communicator.worldSize,
                                       shuffle: config.data.shuffle, seed: config.training.seed, dropLast: true)
        // Step s trains on batch s mod B of epoch s / B, as training would.
        let perEpoch = sampler.batchesPerEpoch
        func timed(_ body: () -> Void) -> Double {
            communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            communicator.barrier()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        // Pre-made: every batch of the timed steps made first (warm-up steps train on the first).
        let premade = (0..<steps).map { step -> (Tensor, [Int32]) in
            let input = Tensor(shape: [0])
            var labels: [Int32] = []
            let epoch = (warmup + step) / perEpoch, batch = (warmup + step) % perEpoch
            maker.make(sampler.indices(epoch: epoch, batch: batch), epoch: epoch, into: input, labels: &labels)
            return (input, labels)
        }
        for step in 0..<warmup { _ = trainer.step(premade[step % max(steps, 1)].0, labels: premade[step % max(steps, 1)].1) }
        let premadeSeconds = timed {
            for (input, labels) in premade { _ = trainer.step(input, labels: labels) }
        }

        // Through the pipeline: the prefetcher starts before the warm-up steps and runs across
        // epoch ends the way training restarts it.
        let prefetcher = BatchPrefetcher(maker: maker, sampler: sampler, depth: config.data.prefetch)
        defer { prefetcher.stop() }
        func pipelineStep(_ step: Int) {
            if step % perEpoch == 0 { prefetcher.start(epoch: step / perEpoch, batch: step % perEpoch) }
            let batch = prefetcher.next()
            _ = trainer.step(batch.input, labels: batch.labels)
        }
        for step in 0..<warmup { pipelineStep(step) }
        let pipelineSeconds = timed {
            for step in warmup..<(warmup + steps) { pipelineStep(step) }
        }
        let images = Double(config.training.batchSize * steps)
        return Result(model: model.name, globalBatch: config.training.batchSize, ranks: communicator.worldSize, steps: steps,
                      prefetch: config.data.prefetch, pipelineImagesPerSecond: images / pipelineSeconds,
                      premadeImagesPerSecond: images / premadeSeconds)
    }
}
