import Configuration
import Datasets
import Distributed
import Foundation
import Reports
import TensorCore
import Train

/// Whether the input pipeline shows in the step time: a config's model trains on its data
/// set, augmented, for the same steps twice — once taking batches from the prefetcher
/// (`data.prefetch` ahead on a background queue, as training does), once on batches all made
/// before the clock starts. A ratio near 1 means decoding, augmentation and batching are hidden.
public enum PipelineBenchmark {
    public struct Result: Encodable, Sendable {
        public var model: String
        public var globalBatch: Int
        public var ranks: Int
        public var steps: Int
        public var prefetch: Int
        public var pipelineImagesPerSecond: Double
        public var premadeImagesPerSecond: Double
        /// Mean time this rank took to make one of its batches on the calling thread, in ms:
        /// the work the pipeline has to hide.
        public var batchMilliseconds: Double
        /// Heap allocations in the whole process (both threads) per timed step, each way; nil
        /// when not counted. The pipeline's include restarting the prefetcher every round.
        public var pipelineAllocationsPerStep: Double?
        public var premadeAllocationsPerStep: Double?
        public var ratio: Double { pipelineImagesPerSecond / premadeImagesPerSecond }

        enum CodingKeys: String, CodingKey {
            case model, globalBatch = "batch", ranks, steps, pipelineImagesPerSecond = "pipeline_images_per_sec"
            case premadeImagesPerSecond = "premade_images_per_sec", ratio, prefetch, batchMilliseconds = "batch_make_ms"
            case pipelineAllocationsPerStep = "pipeline_allocations_per_step"
            case premadeAllocationsPerStep = "premade_allocations_per_step"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(globalBatch, forKey: .globalBatch)
            try c.encode(ranks, forKey: .ranks)
            try c.encode(steps, forKey: .steps)
            try c.encodeNumber(rounded(pipelineImagesPerSecond, places: 1), forKey: .pipelineImagesPerSecond)
            try c.encodeNumber(rounded(premadeImagesPerSecond, places: 1), forKey: .premadeImagesPerSecond)
            try c.encodeNumber(rounded(ratio, places: 4), forKey: .ratio)
            try c.encode(prefetch, forKey: .prefetch)
            try c.encodeNumber(rounded(batchMilliseconds, places: 3), forKey: .batchMilliseconds)
            // Always present: null when not counted.
            try c.encode(pipelineAllocationsPerStep.map { rounded($0, places: 2) }, forKey: .pipelineAllocationsPerStep)
            try c.encode(premadeAllocationsPerStep.map { rounded($0, places: 2) }, forKey: .premadeAllocationsPerStep)
        }

        public var jsonLine: String { JSONLines.encode(self) }
    }

    /// Runs under the launcher this process has (MPI ranks under mpirun, else one process);
    /// returns the JSON line on rank 0, nil on the other ranks.
    public static func launch(config: TrainConfig, steps: Int, warmup: Int,
                              allocationCounter: TrainingBenchmark.AllocationCounter? = nil) throws -> String? {
        let communicator: Communicator = MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: config.training.threads,
                                                               ranksOnNode: communicator.localSize)
        let result = TrainingLauncher.runOrAbort(communicator) {
            try run(config: config, steps: steps, warmup: warmup, communicator: communicator,
                    allocationCounter: allocationCounter)
        }
        communicator.finish()
        return communicator.isCoordinator ? result.jsonLine : nil
    }

    public static func run(config: TrainConfig, steps: Int, warmup: Int, communicator: Communicator,
                           allocationCounter: TrainingBenchmark.AllocationCounter? = nil) throws -> Result {
        let data = try RunData(config)
        let maker = data.makers.train
        let model = try data.makeModel(config.model)
        let trainer = StepTrainer(model: model, communicator: communicator)
        let sampler = try BatchSampler(sampleCount: data.trainCount, globalBatchSize: config.training.batchSize,
                                       rank: communicator.rank, worldSize: communicator.worldSize,
                                       shuffle: config.data.shuffle, seed: config.training.seed, dropLast: true)
        // Step s trains on batch s mod B of epoch s / B, as training would.
        let perEpoch = sampler.batchesPerEpoch
        // Pre-made: every batch of the timed steps, made before any clock starts.
        let batches = try (0..<steps).map { step -> (Tensor, [Int32]) in
            let made = Batch()
            let epoch = (warmup + step) / perEpoch, batch = (warmup + step) % perEpoch
            try maker.make(sampler.indices(epoch: epoch, batch: batch), epoch: epoch, into: made)
            return (made.input, made.labels)
        }
        let batchMilliseconds = try batchMakeMilliseconds(maker, sampler: sampler, steps: steps)
        // Through the pipeline: the prefetcher starts where a stretch of steps starts, as
        // training starts it at an epoch's (or a resume's) first batch, and restarts at epoch ends.
        let prefetcher = BatchPrefetcher(maker: maker, sampler: sampler, depth: config.data.prefetch)
        defer { prefetcher.stop() }
        func pipelineSteps(_ steps: Range<Int>) throws {
            for step in steps {
                if step == steps.lowerBound || step % perEpoch == 0 {
                    prefetcher.start(epoch: step / perEpoch, batch: step % perEpoch)
                }
                let batch = try prefetcher.next()
                _ = trainer.step(batch.input, labels: batch.labels)
            }
            prefetcher.stop()
        }
        func premadeSteps(_ steps: Range<Int>) {
            for step in steps { _ = trainer.step(batches[step - warmup].0, labels: batches[step - warmup].1) }
        }
        try pipelineSteps(0..<warmup)
        let (pipeline, premade) = try interleaved(warmup..<(warmup + steps), pipelineSteps, premadeSteps,
                                              communicator: communicator, allocationCounter: allocationCounter)
        let counted = allocationCounter != nil
        let images = Double(config.training.batchSize * steps)
        return Result(model: model.name, globalBatch: config.training.batchSize, ranks: communicator.worldSize,
                      steps: steps,
                      prefetch: config.data.prefetch, pipelineImagesPerSecond: images / pipeline.seconds,
                      premadeImagesPerSecond: images / premade.seconds, batchMilliseconds: batchMilliseconds,
                      pipelineAllocationsPerStep: counted ? Double(pipeline.allocations) / Double(steps) : nil,
                      premadeAllocationsPerStep: counted ? Double(premade.allocations) / Double(steps) : nil)
    }

    /// Milliseconds to make one batch once warm: the timed steps' batches again, into one tensor.
    static func batchMakeMilliseconds(_ maker: any BatchMaking, sampler: BatchSampler, steps: Int) throws -> Double {
        let made = Batch()
        let indices = (0..<steps).map { sampler.indices(epoch: 0, batch: $0 % sampler.batchesPerEpoch) }
        try maker.make(indices[0], epoch: 0, into: made)
        let start = DispatchTime.now().uptimeNanoseconds
        for batch in indices { try maker.make(batch, epoch: 0, into: made) }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps)
    }

    typealias Cost = (seconds: Double, allocations: UInt64)

    /// `steps` run both ways in rounds of up to 10 steps, in alternating order, so that a change in
    /// the machine's load during the run falls on both alike; the total cost of each way.
    static func interleaved(_ steps: Range<Int>, _ first: (Range<Int>) throws -> Void,
                            _ second: (Range<Int>) throws -> Void,
                            communicator: Communicator, allocationCounter: TrainingBenchmark.AllocationCounter?)
        rethrows -> (first: Cost, second: Cost) {
        /// Seconds and allocations of `body` (the allocations between the barriers, which allocate nothing).
        func timed(_ body: () throws -> Void) rethrows -> Cost {
            communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            let before = allocationCounter?.count() ?? 0
            try body()
            let after = allocationCounter?.count() ?? 0
            communicator.barrier()
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, after - before)
        }
        func add(_ total: inout Cost, _ part: Cost) {
            total = (total.seconds + part.seconds, total.allocations + part.allocations)
        }
        var a: Cost = (0, 0), b: Cost = (0, 0)
        for (round, start) in stride(from: steps.lowerBound, to: steps.upperBound, by: 10).enumerated() {
            let stretch = start..<min(start + 10, steps.upperBound)
            if round % 2 == 0 {
                add(&b, try timed { try second(stretch) })
                add(&a, try timed { try first(stretch) })
            } else {
                add(&a, try timed { try first(stretch) })
                add(&b, try timed { try second(stretch) })
            }
        }
        return (a, b)
    }
}
