import ArgumentParser
import Train

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print one JSON line per measurement (commands, not tests).",
        subcommands: [BenchTrain.self])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training images/s on random data (forward, loss, backward, all-reduce, SGD); works under mpirun.")

    @Option(help: "Model from the zoo.") var model = "lenet5"
    @Option(help: "Global batch size (split over ranks under mpirun).") var batch = 64
    @Option(help: "Threads per rank (0: cores / ranks on the node).") var threads = 0
    @Option(help: "Timed steps.") var steps = 100
    @Option(help: "Untimed warm-up steps.") var warmup = 5

    func run() throws {
        if let line = try TrainingBenchmark.launch(model: model, globalBatch: batch, threads: threads,
                                                   steps: steps, warmup: warmup) {
            print(line)
        }
    }
}
