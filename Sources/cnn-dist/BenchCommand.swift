import ArgumentParser
import Benchmarks
import CAllocationCounter
import Configuration
import Foundation
import NN
import Reports
import TensorCore
import Train

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print one JSON line per measurement (commands, not tests).",
        subcommands: [BenchTrain.self, BenchPipeline.self, BenchGEMM.self, BenchConvolution.self, BenchAllReduce.self,
                      BenchImages.self])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training images/s on random data (forward, loss, backward, all-reduce, SGD); works under mpirun.",
        discussion: """
        Prints one JSON line (rank 0): model, batch, ranks, threads, steps, precision, path (the bf16 kernels \
        that ran, or fp32), images_per_sec,
        allreduce_wait_fraction, peak_rss_mib, memory_lower_bound_mib, allocations_per_step.
        --profile then runs as many steps again with every layer timed and prints where the time \
        goes: per layer forward, input-gradient (dX) and weight-gradient (dW) ms per step, share of \
        the step, GFLOP/s and the kernel each pass ran; then loss, optimizer, all-reduce wait and the \
        rest (--format json: the JSON line with a "profile" object).
        """)

    @Option(help: "Model from the zoo.") var model = "lenet5"
    // --batch-size as in `train` and `bench pipeline`; --batch as before.
    @Option(name: [.customLong("batch-size"), .customLong("batch")],
            help: "Global batch size (split over ranks under mpirun).")
    var batch = 64
    @Option(help: "Threads per rank (0: cores / ranks on the node).") var threads = 0
    @Option(help: "Timed steps.") var steps = 100
    @Option(help: "Untimed warm-up steps.") var warmup = 5
    @Option(help: "fp32 or bf16 (convolutions and linear layers as torch.autocast; CNN_DIST_ISA forces a path).")
    var precision = ComputePrecision.fp32
    @Flag(help: "Also profile: a table of each layer's time (see above).") var profile = false
    @Option(help: "With --profile: table or json.") var format = ProfileFormat.table

    enum ProfileFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }
    @Option(help: ArgumentHelp("Debug: heap allocations to add to every step (checks the counter counts).",
                               visibility: .hidden))
    var debugAllocationsPerStep = 0

    func run() throws {
        let counter = TrainingBenchmark.AllocationCounter(count: { allocation_count() },
                                                           allocate: { allocation_counter_probe(Int32($0)) })
        let active = allocation_counter_active() != 0
        guard let result = try TrainingBenchmark.launch(
            model: model, globalBatch: batch, threads: threads, steps: steps, warmup: warmup, precision: precision,
            allocationCounter: active ? counter : nil, extraAllocationsPerStep: debugAllocationsPerStep,
            profile: profile)
        else { return }
        if let table = result.profile?.table, format == .table {
            print(table, terminator: "")
            print(String(format: "%.1f images/s over %d timed steps without the profiler", result.imagesPerSecond,
                         result.steps))
        } else {
            print(result.jsonLine)
        }
    }
}

struct BenchPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Training images/s of a config's model on its augmented data, through the prefetching input pipeline "
            + "and on batches made beforehand; works under mpirun.",
        discussion: """
        Prints one JSON line (rank 0): model, batch, ranks, steps, pipeline_images_per_sec,
        premade_images_per_sec, ratio (pipeline / premade; 1 means the pipeline costs nothing), prefetch
        batch_make_ms (this rank's mean time to make one batch on one thread: what the pipeline hides),
        pipeline_allocations_per_step and premade_allocations_per_step (heap allocations of the whole process
        per timed step; the pipeline's include restarting the prefetcher every 10 steps).
        """)

    @Option(help: "YAML config: model, data set, augmentation, data.prefetch, batch size.") var config: String?
    @Option(name: .customLong("data"), help: "Dataset directory (data.path).") var dataPath: String?
    @Option(name: .customLong("batch-size"), help: "Global batch size (split over ranks).") var batchSize: Int?
    @Option(help: "Threads per rank (0: cores / ranks on the node).") var threads: Int?
    @Option(help: "Batches made ahead (data.prefetch).") var prefetch: Int?
    @Option(help: "Timed steps (each way).") var steps = 30
    @Option(help: "Untimed warm-up steps (each way).") var warmup = 3

    func validate() throws {
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be at least 1 and --warmup 0 or more") }
    }

    func run() throws {
        var overrides = ConfigOverrides()
        (overrides.dataPath, overrides.batchSize, overrides.threads, overrides.prefetch) = (dataPath, batchSize, threads, prefetch)
        let trainConfig = try TrainConfig.load(file: config, overrides: overrides, knownModels: Catalog.models)
        let counter = TrainingBenchmark.AllocationCounter(count: { allocation_count() },
                                                           allocate: { allocation_counter_probe(Int32($0)) })
        if let line = try PipelineBenchmark.launch(config: trainConfig, steps: steps, warmup: warmup,
                                                   allocationCounter: allocation_counter_active() != 0 ? counter : nil) {
            print(line)
        }
    }
}

struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Float32 sum all-reduce time and bandwidth per message size (run under mpirun).",
        discussion: """
        Prints one JSON line per size (rank 0): bytes, ranks, iterations, time_us (mean per
        all-reduce, slowest rank), algbw_gbps = bytes / time and busbw_gbps = algbw × 2(n−1)/n,
        as nccl-tests defines them (GB = 10^9 bytes). One process: ranks 1, bandwidths 0.
        """)

    @Option(help: "Message sizes in bytes, comma-separated (multiples of 4).")
    var sizes = "1024,65536,1048576,16777216"
    @Option(help: "Timed all-reduces per size.") var iterations = 20
    @Option(help: "Untimed all-reduces per size before the barrier.") var warmup = 5

    func run() throws {
        let parsed = try sizes.split(separator: ",").map { text -> Int in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--sizes: '\(text)' is not a byte count")
            }
            return value
        }
        guard !parsed.isEmpty else { throw ValidationError("--sizes is empty") }
        if let lines = try AllReduceBenchmark.launch(sizes: parsed, iterations: iterations, warmup: warmup) {
            lines.forEach { print($0) }
        }
    }
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "SGEMM GFLOP/s on square n×n float32 matrices (2n³ flops), timed as shared/peers/gemm.py times "
            + "NumPy.",
        discussion: """
        --precision bf16 times the bf16 GEMM (Float32 operands rounded to bf16 while packing, Float32 sums) on \
        the best path this CPU has (amx, avx512bf16, else emulated; CNN_DIST_ISA forces one); each JSON line \
        names the path that ran.
        """)

    @Option(help: "Comma-separated matrix sizes n.") var sizes = "128,256,512,1024"
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Timed 0.5 s windows per size; the best counts.") var repeats = 3
    @Option(help: "fp32 or bf16.") var precision = ComputePrecision.fp32

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
        let isa = try BFloat16ISA.select()
        for n in parsedSizes ?? [] {
            let result = GEMMBenchmark.run(size: n, threads: threads, repeats: repeats, precision: precision, isa: isa)
            print(result.jsonLine)
        }
    }
}

struct BenchConvolution: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Times every convolution algorithm on each distinct convolution of a model.",
        discussion: """
            For each pass (forward, input gradient, weight gradient) of each distinct convolution the \
            model has at this batch size, every algorithm that can run it (direct, im2col+GEMM, \
            1x1 GEMM, Winograd F(2x2) or Winograd 4x4) is timed in turn; the median of --calls calls \
            counts. The line ends with the algorithm training uses, and says so where another one was \
            faster. --precision bf16 times a bf16 layer's candidates on the best path this CPU has \
            (CNN_DIST_ISA forces one): on amx or avx512bf16 the bf16 GEMM ("im2col+bf16 GEMM (isa)") and \
            the Float32 kernels on bf16 operands ("Winograd 4x4 (bf16 operands)"); on the emulated path \
            the Float32 kernels on rounded operands.
            """)

    @Option(help: "Model from the zoo.") var model = "resnet50"
    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Images per call.") var batchSize = 8
    @Option(help: "Threads (0: all cores).") var threads = 0
    @Option(help: "Timed calls per algorithm and pass.") var calls = 3
    @Option(help: "table or json (one line per pass).") var format = BenchTrain.ProfileFormat.table
    @Option(help: "fp32 or bf16.") var precision = ComputePrecision.fp32

    func validate() throws {
        guard batchSize > 0, threads >= 0, calls > 0 else {
            throw ValidationError("--batch-size and --calls must be positive and --threads not negative")
        }
    }

    func run() throws {
        if threads > 0 { Parallel.threadCount = threads }
        // A CNN_DIST_ISA this CPU lacks is an error before anything runs.
        try BFloat16ISA.activate()
        let network = try ModelZoo.make(model, inputShape: ModelZoo.defaultInputShape(model), classes: 10)
        for (layers, geometry, withBias) in ConvolutionBenchmark.geometries(of: network, batch: batchSize) {
            let rows = ConvolutionBenchmark.measure(geometry, layers: layers, withBias: withBias, calls: calls,
                                                    precision: precision)
            if format == .json {
                rows.forEach { print($0.jsonLine) }
            } else {
                print(ConvolutionBenchmark.table(rows), terminator: "")
            }
            fflush(stdout)
        }
    }
}

struct BenchImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Images/s of the image pipeline alone (read, decode, transform, batch) on an ImageFolder root, with "
            + "torchvision's ImageNet transforms: the peer is ../shared/peers/imagefolder_throughput.py.",
        discussion: "Prints one JSON line: workers, batch, mode (train or val), size, images, images_per_sec, "
            + "reduced_decodes (share of JPEGs decoded at 1/2, 1/4 or 1/8 size).")
    @Argument(help: "ImageFolder root: ROOT/<class>/<image>.") var root: String
    @Option(help: "Decoding threads.") var workers = 2
    @Option(name: [.customLong("batch-size"), .customLong("batch")], help: "Images per batch.") var batch = 64
    @Option(help: "Timed batches (after one untimed).") var batches = 20
    @Option(help: "Output side.") var size = 224
    @Flag(help: "Validation transforms (resize, centre crop) instead of training ones.") var val = false
    @Flag(name: .customLong("no-dct-scaling"), help: "Always decode JPEGs at full size.") var noDCTScaling = false

    func validate() throws {
        guard (1...256).contains(workers), (1...4096).contains(batch), (1...100_000).contains(batches),
              (8...4096).contains(size) else {
            throw ValidationError("--workers must lie in 1...256, --batch in 1...4096, --batches in 1...100000, "
                + "--size in 8...4096")
        }
    }

    func run() throws {
        let result = try ImageFolderBenchmark.run(root: root, workers: workers, batch: batch, batches: batches,
                                                  validation: val, size: size, reducedDecoding: !noDCTScaling)
        print(JSONLines.encode(result))
    }
}
