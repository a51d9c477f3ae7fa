import Configuration
import Distributed
import Foundation
import Reports
import TensorCore

/// Chooses how a run is spread over ranks and starts it:
/// under `mpirun`/`srun` one MPI rank per process; with `workers > 1` that many ranks as
/// threads of this process (in-process all-reduce); otherwise single-node mode.
public enum TrainingLauncher {
    public enum Mode: Equatable {
        case single
        case inProcess(workers: Int)
        case mpi
    }

    public static func mode(workers: Int?) throws -> Mode {
        if MPICommunicator.launchedByMPI { return .mpi }
        if let workers {
            guard workers >= 1 else { throw DistributedError.invalidWorkers(workers) }
            if workers > 1 { return .inProcess(workers: workers) }
        }
        return .single
    }

    /// Compute threads per rank: the configured count, else this node's cores shared evenly
    /// among the ranks on it (never more threads than cores).
    public static func threadsPerRank(configured: Int, ranksOnNode: Int) -> Int {
        configured > 0 ? configured : max(1, Parallel.onlineCores / max(1, ranksOnNode))
    }

    /// Runs the training job; returns rank 0's history. Errors on a multi-rank job end the
    /// whole job with a message naming the rank; single-node errors are thrown.
    @discardableResult
    public static func run(config: TrainConfig, workers: Int? = nil, options: StartOptions = StartOptions(),
                           log: @escaping (String) -> Void) throws -> [EpochMetrics] {
        try run(config: config, workers: workers, options: options, logger: Logger(level: .info, lines: log))
    }

    @discardableResult
    public static func run(config: TrainConfig, workers: Int? = nil, options: StartOptions = StartOptions(),
                           logger: Logger = .standard()) throws -> [EpochMetrics] {
        switch try mode(workers: workers) {
        case .single:
            Parallel.threadCount = threadsPerRank(configured: config.training.threads, ranksOnNode: 1)
            return try Trainer(config: config, communicator: SingleProcessCommunicator(), options: options, logger: logger).run()
        case .mpi:
            let communicator = try MPICommunicator(timeout: config.distributed.timeoutSeconds)
            Parallel.threadCount = threadsPerRank(configured: config.training.threads,
                                                  ranksOnNode: communicator.localSize)
            let history = runOrAbort(communicator) {
                try Trainer(config: config, communicator: communicator, options: options, logger: logger).run()
            }
            communicator.finish()
            return history
        case .inProcess(let workers):
            // The bf16 path once, before the ranks' threads start: each Trainer then finds it set
            // and does not write it (a bad CNN_DIST_ISA is left for each rank to report).
            _ = try? BFloat16ISA.activate()
            let communicators = try InProcessCommunicator.makeGroup(size: workers)
            Parallel.threadCount = threadsPerRank(configured: config.training.threads, ranksOnNode: workers)
            let histories = RankResults<[EpochMetrics]>(ranks: workers, initial: [])
            let done = DispatchGroup()
            for communicator in communicators {
                done.enter()
                Thread.detachNewThread {
                    let history = runOrAbort(communicator) {
                        try Trainer(config: config, communicator: communicator, options: options, logger: logger).run()
                    }
                    histories.store(history, rank: communicator.rank)
                    done.leave()
                }
            }
            done.wait()
            return histories.value(rank: 0)
        }
    }

    /// A failing rank takes the whole job down (MPI_Abort), naming itself, so no rank is
    /// left waiting in a collective.
    public static func runOrAbort<T>(_ communicator: Communicator, _ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            // Rank 0's abort ends the others; they speak only if it does not within a few seconds.
            if communicator.rank != 0 && ExitStatus.isRaisedByEveryRank(error) { sleep(5) }
            communicator.abort(message: "[rank \(communicator.rank)] error: \(error)", code: ExitStatus.of(error))
        }
    }
}

/// One result per rank, written from the ranks' threads.
final class RankResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value]

    init(ranks: Int, initial: Value) { values = Array(repeating: initial, count: ranks) }

    func store(_ value: Value, rank: Int) {
        lock.lock()
        values[rank] = value
        lock.unlock()
    }

    func value(rank: Int) -> Value {
        lock.lock()
        defer { lock.unlock() }
        return values[rank]
    }
}
