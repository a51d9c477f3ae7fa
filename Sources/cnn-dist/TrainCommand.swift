import ArgumentParser
import Foundation
import Distributed
import Train

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config (built-in defaults: LeNet-5 on synthetic data).")

    @Option(name: .long, help: "YAML config file (keys and defaults in README.md).")
    var config: String?
    @Option(name: .long, help: "Number of epochs.") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Global batch size (split over ranks).") var batchSize: Int?
    @Option(name: .long, help: "Base learning rate.") var lr: Double?
    @Option(name: .customLong("data"), help: "Dataset directory (data.path).") var dataPath: String?
    @Option(name: .long, help: "Random seed.") var seed: UInt64?
    @Option(name: .long, help: "Compute threads per rank (0 = automatic).") var threads: Int?
    @Option(name: .customLong("run-dir"), help: "Run directory for config.yaml and metrics.jsonl.") var runDir: String?
    @Option(name: .long, help: "Without mpirun: run N data-parallel ranks as threads of this process.")
    var workers: Int?

    func run() throws {
        do {
            var trainConfig = try config.map { try TrainConfig.load(file: $0, knownModels: Catalog.models) } ?? TrainConfig()
            var overrides = ConfigOverrides()
            overrides.epochs = epochs
            overrides.batchSize = batchSize
            overrides.lr = lr
            overrides.dataPath = dataPath
            overrides.seed = seed
            overrides.threads = threads
            overrides.runDirectory = runDir
            try trainConfig.apply(overrides, knownModels: Catalog.models)
            try TrainingLauncher.run(config: trainConfig, workers: workers)
        } catch {
            // Our errors say what and where; print them plainly instead of a Swift dump, naming
            // the rank under a launcher (a rank exiting before MPI starts also ends the job).
            let rank = MPICommunicator.launchedByMPI ? MPICommunicator.launcherRank.map { "[rank \($0)] " } ?? "" : ""
            FileHandle.standardError.write(Data("\(rank)error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
