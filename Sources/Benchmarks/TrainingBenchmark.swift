import Distributed
import Foundation
import NN
import Optim
import Reports
import TensorCore
import Train

#if canImport(Glibc)
import Glibc
#endif

/// Training throughput on random data, timing exactly what ../shared/peers/train_throughput.py
/// and ddp_throughput.py time: forward, cross-entropy, backward, gradient all-reduce (with
/// several ranks) and SGD (momentum 0.9, weight decay 5e-4).
public enum TrainingBenchmark {
    public struct Result: Encodable, Sendable {
        public var model: String
        public var globalBatch: Int
        public var ranks: Int
        public var threads: Int
        public var steps: Int
        /// fp32, or bf16 (autocast) convolutions and linear layers, and the bf16 path that ran.
        public var precision = ComputePrecision.fp32
        public var path = "fp32"
        public var imagesPerSecond: Double
        /// Share of step time spent blocked on gradient all-reduce (0 for one rank).
        public var allReduceWaitFraction: Double
        public var peakRSSMebibytes: Double
        /// What this rank must hold at least: parameters, gradients, SGD momentum and the
        /// activations backward keeps (every materialised layer output and the input) for its batch.
        public var memoryLowerBoundMebibytes: Double
        /// Heap allocations (malloc & co., all threads) per timed step; nil when not counted.
        public var allocationsPerStep: Double?
        /// Where the step's time goes, layer by layer (`--profile`), from as many further steps.
        public var profile: LayerProfile?

        enum CodingKeys: String, CodingKey {
            case model, globalBatch = "batch", ranks, threads, steps, precision, path
            case imagesPerSecond = "images_per_sec"
            case allReduceWaitFraction = "allreduce_wait_fraction", peakRSSMebibytes = "peak_rss_mib"
            case memoryLowerBoundMebibytes = "memory_lower_bound_mib", allocationsPerStep = "allocations_per_step"
            case profile
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(globalBatch, forKey: .globalBatch)
            try c.encode(ranks, forKey: .ranks)
            try c.encode(threads, forKey: .threads)
            try c.encode(steps, forKey: .steps)
            try c.encode(precision.rawValue, forKey: .precision)
            try c.encode(path, forKey: .path)
            try c.encodeNumber(rounded(imagesPerSecond, places: 2), forKey: .imagesPerSecond)
            try c.encodeNumber(rounded(allReduceWaitFraction, places: 4), forKey: .allReduceWaitFraction)
            try c.encodeNumber(rounded(peakRSSMebibytes, places: 1), forKey: .peakRSSMebibytes)
            try c.encodeNumber(rounded(memoryLowerBoundMebibytes, places: 1), forKey: .memoryLowerBoundMebibytes)
            try c.encode(allocationsPerStep.map { rounded($0, places: 2) }, forKey: .allocationsPerStep)
            try c.encodeIfPresent(profile, forKey: .profile)
        }

        public var jsonLine: String { JSONLines.encode(self) }
    }

    /// Hooks into the executable's counting allocator (Sources/CAllocationCounter), which only
    /// the cnn-dist executable links.
    public struct AllocationCounter {
        /// Allocation calls so far in this process.
        public var count: () -> UInt64
        /// Makes this many heap allocations (a debug load that shows the counter counts).
        public var allocate: (Int) -> Void

        public init(count: @escaping () -> UInt64, allocate: @escaping (Int) -> Void) {
            self.count = count
            self.allocate = allocate
        }
    }

    /// Parameters + gradients + momentum + activations for `batch` images, in MiB (4-byte values).
    /// bf16 adds the rounded copies its convolution and linear layers always keep beside that
    /// (`MixedPrecisionLayer.bfloat16CopyValues`: biases, weights where a Float32 kernel runs on
    /// bf16 values, linear layers' output gradients; the bf16 GEMM rounds operands as it packs
    /// them). A convolution's input and output gradient are copied too where they do not hold
    /// bf16 values already (a network's input, a gradient summed by overlapping pooling windows),
    /// which the bound, as a lower bound, leaves out. A convolution's output that a batch norm
    /// reads, a batch norm's that a convolution reads, and a residual block's sum that the next
    /// block reads are kept as bf16 bits, counted at half their values. In Float32 a batch norm
    /// whose output the next convolution normalises where it reads it keeps no output at all
    /// (`BatchNorm2d.leavesOutputToReader`).
    public static func memoryLowerBound(_ model: Model, batch: Int, precision: ComputePrecision = .fp32) throws
        -> Double
    {
        let summary = try ModelSummary(model: model)
        var values = summary.fixedTrainingValues + summary.forwardActivations * batch
        if precision == .fp32 {
            var norms: [String: BatchNorm2d] = [:]
            for (name, layer) in model.network.namedLayers() {
                if let norm = layer as? BatchNorm2d { norms[name] = norm }
            }
            for row in summary.rows {
                guard let norm = norms[row.path], norm.leavesOutputToReader(inputShape: [batch] + row.inputShape)
                else { continue }
                values -= batch * row.activations
            }
        }
        if precision == .bf16 {
            var layers: [String: MixedPrecisionLayer] = [:]
            for (name, layer) in model.network.namedLayers() {
                if let mixed = layer as? MixedPrecisionLayer { layers[name] = mixed }
            }
            for row in summary.rows {
                guard let layer = layers[row.path] else { continue }
                values += layer.bfloat16CopyValues(inputShape: [batch] + row.inputShape)
                // A convolution before a batch norm, a batch norm before a convolution, and a
                // residual block's sum before the next block keep their outputs as bf16 bits:
                // half the bytes.
                let norm = layer as? BatchNorm2d
                let keepsBits = (layer as? Conv2d)?.outputFeedsBatchNorm == true
                    || norm?.nextConvolution != nil || norm?.writesSumForNextBlock == true
                if keepsBits { values -= batch * row.activations / 2 }
            }
        }
        return Double(values * ModelSummary.bytesPerValue) / Double(1 << 20)
    }

    /// Runs the benchmark as this process's launcher set it up (MPI ranks under mpirun,
    /// else one process); returns the JSON line on rank 0, nil on the other ranks.
    public static func launch(model: String, globalBatch: Int, threads: Int, steps: Int, warmup: Int,
                              precision: ComputePrecision = .fp32,
                              allocationCounter: AllocationCounter? = nil, extraAllocationsPerStep: Int = 0,
                              profile: Bool = false) throws -> Result? {
        let communicator: Communicator = MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: threads, ranksOnNode: communicator.localSize)
        let result = TrainingLauncher.runOrAbort(communicator) {
            try run(model: model, globalBatch: globalBatch, steps: steps, warmup: warmup, precision: precision,
                    communicator: communicator, allocationCounter: allocationCounter,
                    extraAllocationsPerStep: extraAllocationsPerStep, profile: profile)
        }
        communicator.finish()
        return communicator.isCoordinator ? result : nil
    }

    public static func run(model name: String, globalBatch: Int, steps: Int, warmup: Int,
                           precision: ComputePrecision = .fp32, communicator: Communicator,
                           allocationCounter: AllocationCounter? = nil, extraAllocationsPerStep: Int = 0, profile: Bool = false) throws -> Result {
        guard globalBatch % communicator.worldSize == 0 else {
            throw TrainError.batchNotDivisible(batch: globalBatch, ranks: communicator.worldSize)
        }
        let batch = globalBatch / communicator.worldSize
        let model = try ModelZoo.make(name, inputShape: ModelZoo.defaultInputShape(name), classes: 10)
        try BFloat16ISA.activate()
        model.setPrecision(precision)
        let trainer = StepTrainer(model: model, communicator: communicator)
        var random = RandomGenerator(seed: UInt64(communicator.rank)).split("benchmark")
        let input = Tensor(shape: [batch] + model.inputShape)
        for i in 0..<input.count { input[i] = random.normal() }
        let labels = (0..<batch).map { _ in Int32(random.nextInt(below: 10)) }
        var waited = 0.0
        func step() {
            waited += trainer.step(input, labels: labels)
            if extraAllocationsPerStep > 0 { allocationCounter?.allocate(extraAllocationsPerStep) }
        }
        for _ in 0..<warmup { step() }
        communicator.barrier()
        waited = 0
        // Counted around the timed steps only (the barriers and clock reads allocate nothing).
        let allocationsBefore = allocationCounter?.count()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let allocationsAfter = allocationCounter?.count()
        communicator.barrier()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var allocationsPerStep: Double?
        if let allocationsBefore, let allocationsAfter, steps > 0 {
            allocationsPerStep = Double(allocationsAfter - allocationsBefore) / Double(steps)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        var result = Result(
            model: name, globalBatch: globalBatch, ranks: communicator.worldSize, threads: Parallel.threadCount,
            steps: steps, precision: precision, path: precision == .bf16 ? BFloat16ISA.active.rawValue : "fp32",
            imagesPerSecond: Double(globalBatch * steps) / seconds,
            allReduceWaitFraction: waited / seconds, peakRSSMebibytes: Double(usage.ru_maxrss) / 1024,
            memoryLowerBoundMebibytes: try memoryLowerBound(model, batch: batch, precision: precision),
            allocationsPerStep: allocationsPerStep)
        if profile {
            // Further steps, so the timed ones above carry none of the profiler's cost.
            result.profile = try profileSteps(trainer, input: input, labels: labels, steps: steps,
                                              communicator: communicator)
        }
        return result
    }

    /// `steps` steps with every layer timed (`LayerProfiler`), and loss, optimizer and all-reduce wait.
    static func profileSteps(_ trainer: StepTrainer, input: Tensor, labels: [Int32], steps: Int,
                             communicator: Communicator) throws -> LayerProfile {
        let profiler = LayerProfiler()
        var totals = StepTrainer.Times()
        var stepSeconds = 0.0
        communicator.barrier()
        LayerProfiler.active = profiler
        defer { LayerProfiler.active = nil }
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            let times = trainer.profiledStep(input, labels: labels)
            stepSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            totals.loss += times.loss
            totals.optimizer += times.optimizer
            totals.wait += times.wait
        }
        return try LayerProfile(model: trainer.model, profiler: profiler, batch: input.shape[0],
                                threads: Parallel.threadCount, steps: steps, stepSeconds: stepSeconds,
                                lossSeconds: totals.loss, optimizerSeconds: totals.optimizer, waitSeconds: totals.wait)
    }
}

/// The benchmarks' training step: forward, cross-entropy, backward, gradient all-reduce
/// (overlapped, in buckets) and SGD with momentum 0.9 and weight decay 5e-4, on a model whose
/// replicas start from rank 0's seeded initial weights.
final class StepTrainer {
    let model: Model
    let optimizer: SGD
    let buckets: GradientBuckets
    let loss = SoftmaxCrossEntropy()

    init(model: Model, communicator: Communicator) {
        self.model = model
        model.initializeParameters(seed: 0)
        ReplicaSynchronization.broadcastFromCoordinator(model, communicator: communicator)
        let parameters = model.namedParameters()
        optimizer = SGD(parameters: parameters, options: SGD.Options(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4))
        buckets = GradientBuckets(parameters: parameters.map(\.parameter), capacityBytes: 25 << 20, communicator: communicator)
        buckets.attach(to: model)
    }

    /// Seconds a profiled step spent outside the layers.
    struct Times {
        var loss = 0.0, optimizer = 0.0, wait = 0.0
    }

    /// One training step, timing the loss, the optimizer and the all-reduce wait.
    func profiledStep(_ input: Tensor, labels: [Int32]) -> Times {
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        buckets.beginStep()
        let logits = model.forward(input)
        let lossStart = now()
        loss.forward(logits: logits, labels: labels)
        let lossSeconds = Double(now() - lossStart) / 1e9
        model.backward(loss.gradient)
        buckets.finishStep()
        let optimizerStart = now()
        optimizer.step()
        return Times(loss: lossSeconds, optimizer: Double(now() - optimizerStart) / 1e9, wait: buckets.lastWaitSeconds)
    }

    /// One training step; returns the seconds spent blocked on the all-reduce.
    func step(_ input: Tensor, labels: [Int32]) -> Double {
        buckets.beginStep()
        loss.forward(logits: model.forward(input), labels: labels)
        model.backward(loss.gradient)
        buckets.finishStep()
        optimizer.step()
        return buckets.lastWaitSeconds
    }
}
