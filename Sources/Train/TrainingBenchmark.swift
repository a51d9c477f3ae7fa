import Distributed
import Foundation
import NN
import Optim
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// Training throughput on random data, timing exactly what ../shared/peers/train_throughput.py
/// and ddp_throughput.py time: forward, cross-entropy, backward, gradient all-reduce (with
/// several ranks) and SGD (momentum 0.9, weight decay 5e-4).
public enum TrainingBenchmark {
    public struct Result: Sendable {
        public var model: String
        public var globalBatch: Int
        public var ranks: Int
        public var threads: Int
        public var steps: Int
        public var imagesPerSecond: Double
        /// Share of step time spent blocked on gradient all-reduce (0 for one rank).
        public var allReduceWaitFraction: Double
        public var peakRSSMebibytes: Double

        public var jsonLine: String {
            String(format: "{\"model\":\"%@\",\"batch\":%d,\"ranks\":%d,\"threads\":%d,\"steps\":%d,"
                   + "\"images_per_sec\":%.1f,\"allreduce_wait_fraction\":%.4f,\"peak_rss_mib\":%.1f}",
                   model, globalBatch, ranks, threads, steps, imagesPerSecond, allReduceWaitFraction, peakRSSMebibytes)
        }
    }

    /// Runs the benchmark as this process's launcher set it up (MPI ranks under mpirun,
    /// else one process); returns the JSON line on rank 0, nil on the other ranks.
    public static func launch(model: String, globalBatch: Int, threads: Int, steps: Int, warmup: Int) throws -> String? {
        let communicator: Communicator = MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: threads, ranksOnNode: communicator.localSize)
        let result = TrainingLauncher.runOrAbort(communicator) {
            try run(model: model, globalBatch: globalBatch, steps: steps, warmup: warmup, communicator: communicator)
        }
        communicator.finish()
        return communicator.isCoordinator ? result.jsonLine : nil
    }

    public static func run(model name: String, globalBatch: Int, steps: Int, warmup: Int,
                           communicator: Communicator) throws -> Result {
        guard globalBatch % communicator.worldSize == 0 else {
            throw TrainError.batchNotDivisible(batch: globalBatch, ranks: communicator.worldSize)
        }
        let batch = globalBatch / communicator.worldSize
        let model = try ModelZoo.make(name, inputShape: ModelZoo.defaultInputShape(name), classes: 10)
        model.initializeParameters(seed: 0)
        ReplicaSynchronization.broadcastFromCoordinator(model, communicator: communicator)
        let parameters = model.namedParameters()
        let optimizer = SGD(parameters: parameters, options: SGD.Options(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4))
        let buckets = GradientBuckets(parameters: parameters.map(\.parameter), capacityBytes: 25 << 20,
                                      communicator: communicator)
        buckets.attach(to: model)
        var random = RandomGenerator(seed: UInt64(communicator.rank)).split("benchmark")
        let input = Tensor(shape: [batch] + model.inputShape)
        for i in 0..<input.count { input[i] = random.normal() }
        let labels = (0..<batch).map { _ in Int32(random.nextInt(below: 10)) }
        let loss = SoftmaxCrossEntropy()
        var waited = 0.0
        func step() {
            buckets.beginStep()
            loss.forward(logits: model.forward(input), labels: labels)
            model.backward(loss.gradient)
            buckets.finishStep()
            waited += buckets.lastWaitSeconds
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        communicator.barrier()
        waited = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        communicator.barrier()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Result(model: name, globalBatch: globalBatch, ranks: communicator.worldSize, threads: Parallel.threadCount,
                      steps: steps, imagesPerSecond: Double(globalBatch * steps) / seconds,
                      allReduceWaitFraction: waited / seconds, peakRSSMebibytes: Double(usage.ru_maxrss) / 1024)
    }
}
