import ArgumentParser
import Train

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print one JSON line per measurement (commands, not tests).",
        subcommands: [BenchTrain.self, BenchGEMM.self])
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

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "SGEMM GFLOP/s on square n×n float32 matrices (2n³ flops), timed as shared/peers/gemm.py times NumPy.")

    @Option(help: "Comma-separated matrix sizes n.") var sizes = "128,256,512,1024"
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Timed 0.5 s windows per size; the best counts.") var repeats = 3

    func validate() throws {
        guard threads > 0, repeats > 0 else { throw ValidationError("--threads and --repeats must be positive") }
        guard let list = parsedSizes, !list.isEmpty else { throw ValidationError("--sizes must be positive integers, e.g. 128,256") }
    }

    var parsedSizes: [Int]? {
        let values = sizes.split(separator: ",").map { Int($0) }
        guard values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return values.compactMap { $0 }
    }

    func run() throws {
        for n in parsedSizes ?? [] {
            print(GEMMBenchmark.run(size: n, threads: threads, repeats: repeats).jsonLine)
        }
    }
}
