import Foundation
import TestSupport
import XCTest

@testable import Benchmarks
@testable import NN
@testable import Train

/// `cnn-dist bench train` and `bench allreduce` print valid JSON with the keys launch/bench.sh reads.
final class BenchCommandTests: XCTestCase {
    static let trainKeys = ["model", "batch", "threads", "steps", "images_per_sec", "peak_rss_mib",
                            "allocations_per_step", "memory_lower_bound_mib", "ranks", "allreduce_wait_fraction"]
    static let allReduceKeys = ["bytes", "ranks", "time_us", "algbw_gbps", "busbw_gbps"]

    var binary: String { ProcessRunner.product("cnn-dist") }

    /// Each non-empty output line as a JSON object.
    func jsonLines(_ result: ProcessRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws
        -> [[String: Any]] {
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
        return try result.output.split(separator: "\n").map { text in
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(text)", file: file, line: line)
        }
    }

    func assertKeys(_ object: [String: Any], _ keys: [String], file: StaticString = #filePath, line: UInt = #line) {
        for key in keys { XCTAssertNotNil(object[key], "missing \(key) in \(object)", file: file, line: line) }
    }

    func benchTrain(_ extra: [String] = []) throws -> [String: Any] {
        let result = try ProcessRunner.run(binary, ["bench", "train", "--model", "lenet5", "--batch", "8", "--threads", "1",
                                                    "--steps", "2", "--warmup", "1"] + extra, timeout: 120)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.count, 1, result.output)
        return try XCTUnwrap(lines.first)
    }

    func testBenchTrainPrintsOneJSONLineWithTheRequiredKeys() throws {
        let object = try benchTrain()
        assertKeys(object, Self.trainKeys)
        XCTAssertEqual(object["model"] as? String, "lenet5")
        XCTAssertEqual(object["batch"] as? Int, 8)
        XCTAssertEqual(object["steps"] as? Int, 2)
        XCTAssertGreaterThan(try XCTUnwrap(object["images_per_sec"] as? Double), 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(object["allocations_per_step"] as? Double,
                                                  "allocations_per_step not counted: \(object)"), 0)
        let bound = try XCTUnwrap(object["memory_lower_bound_mib"] as? Double)
        XCTAssertGreaterThan(bound, 0)
        XCTAssertGreaterThan(try XCTUnwrap(object["peak_rss_mib"] as? Double), bound)
    }

    /// The counter sees allocations made anywhere in the process: a debug load of 500 per
    /// step raises allocations_per_step by at least 500.
    func testAllocationCounterCountsADebugLoad() throws {
        let plain = try XCTUnwrap(try benchTrain()["allocations_per_step"] as? Double)
        let loaded = try XCTUnwrap(try benchTrain(["--debug-allocations-per-step", "500"])["allocations_per_step"] as? Double)
        XCTAssertGreaterThanOrEqual(loaded, 500)
        XCTAssertGreaterThan(loaded, plain + 250, "plain \(plain), loaded \(loaded)")
    }

    /// Once warm, a training step (forward, loss, backward, gradient buckets, SGD) makes no
    /// heap allocation, on one thread and on the worker pool, with and without BatchNorm and
    /// residual blocks.
    /// Also GoogLeNet (Concat: its output shape was rebuilt, 9 allocations per step, until
    /// 2026-11-26) and AlexNet (LRN, dropout, overlapping pooling), at batch 2; and ResNet-20 in
    /// bf16 (its blocks asked every step whether the next one reads bits by building an array:
    /// 8 allocations a step, until 2026-12-01).
    func testAWarmTrainingStepAllocatesNothing() throws {
        for (model, threads, batch, precision) in [
            ("lenet5", "1", "8", "fp32"), ("lenet5", "2", "8", "fp32"), ("resnet20", "2", "8", "fp32"),
            ("googlenet", "2", "2", "fp32"), ("alexnet", "2", "2", "fp32"), ("resnet20", "2", "8", "bf16"),
        ] {
            let result = try ProcessRunner.run(binary, ["bench", "train", "--model", model, "--batch", batch,
                                                        "--threads", threads, "--steps", "3", "--warmup", "2",
                                                        "--precision", precision], timeout: 120)
            let object = try XCTUnwrap(try jsonLines(result).first)
            XCTAssertEqual(object["allocations_per_step"] as? Double, 0,
                           "\(model) \(precision), \(threads) thread(s): \(object)")
        }
    }

    func testBenchTrainUnderMPIWithTwoRanks() throws {
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found: install openmpi-bin")
        let result = try ProcessRunner.run(mpirun, ProcessRunner.mpirunArguments(ranks: 2) + [
            binary, "bench", "train", "--model", "lenet5", "--batch", "8", "--threads", "1", "--steps", "2", "--warmup", "1",
        ], timeout: 120)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.count, 1, "rank 0 alone prints: \(result.output)")
        assertKeys(try XCTUnwrap(lines.first), Self.trainKeys)
        XCTAssertEqual(lines.first?["ranks"] as? Int, 2)
    }

    static let pipelineKeys = ["model", "batch", "ranks", "steps", "pipeline_images_per_sec", "premade_images_per_sec", "ratio",
                               "prefetch", "batch_make_ms", "pipeline_allocations_per_step",
                               "premade_allocations_per_step"]

    /// A tiny CIFAR-10 directory from the generator and a config training LeNet-5 on it with
    /// pad-and-crop, flip and lighting.
    func tinyPipelineConfig() throws -> String {
        let directory = ProcessRunner.temporaryDirectory("bench-pipeline")
        let generated = try ProcessRunner.run(binary, ["data", "generate-cifar10", "-o", directory + "/data", "--train", "40",
                                                       "--test", "8"], timeout: 60)
        XCTAssertEqual(generated.status, 0, generated.error)
        let config = directory + "/tiny.yaml"
        try """
        model: {name: lenet5}
        data:
          dataset: cifar10
          path: \(directory)/data
          augment: {random_crop: {size: 32, padding: 4}, horizontal_flip: true, lighting: 0.1}
        training: {batch_size: 8, threads: 1}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    func testBenchPipelinePrintsOneJSONLine() throws {
        let config = try tinyPipelineConfig()
        let result = try ProcessRunner.run(binary, ["bench", "pipeline", "--config", config, "--steps", "6", "--warmup", "1"],
                                           timeout: 120)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.count, 1, result.output)
        let object = try XCTUnwrap(lines.first)
        assertKeys(object, Self.pipelineKeys)
        XCTAssertEqual(object["model"] as? String, "lenet5")
        XCTAssertEqual(object["batch"] as? Int, 8)
        XCTAssertEqual(object["ranks"] as? Int, 1)
        XCTAssertEqual(object["steps"] as? Int, 6)
        let pipeline = try XCTUnwrap(object["pipeline_images_per_sec"] as? Double)
        let premade = try XCTUnwrap(object["premade_images_per_sec"] as? Double)
        XCTAssertGreaterThan(pipeline, 0)
        XCTAssertGreaterThan(premade, 0)
        XCTAssertEqual(try XCTUnwrap(object["ratio"] as? Double), pipeline / premade, accuracy: 1e-2 * pipeline / premade)
        XCTAssertEqual(object["prefetch"] as? Int, 2, "data.prefetch's default")
        XCTAssertGreaterThan(try XCTUnwrap(object["batch_make_ms"] as? Double), 0)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(object["pipeline_allocations_per_step"] as? Double, "not counted: \(object)"), 0)

        let missing = try ProcessRunner.run(binary, ["bench", "pipeline", "--config", config, "--data", "/nonexistent/cifar"],
                                            timeout: 60)
        XCTAssertEqual(missing.status, 2)  // an input error: running again would not help
        XCTAssertTrue(missing.error.contains("error: dataset 'cifar10': no CIFAR-10 binary files"), missing.error)
    }

    func testBenchPipelineUnderMPIWithTwoRanks() throws {
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found: install openmpi-bin")
        let config = try tinyPipelineConfig()
        let result = try ProcessRunner.run(mpirun, ProcessRunner.mpirunArguments(ranks: 2) + [
            binary, "bench", "pipeline", "--config", config, "--steps", "4", "--warmup", "1",
        ], timeout: 120)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.count, 1, "rank 0 alone prints: \(result.output)")
        assertKeys(try XCTUnwrap(lines.first), Self.pipelineKeys)
        XCTAssertEqual(lines.first?["ranks"] as? Int, 2)
    }

    func testBenchAllReduceSingleProcess() throws {
        let result = try ProcessRunner.run(binary, ["bench", "allreduce", "--sizes", "1024,4096", "--iterations", "3"],
                                           timeout: 60)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.map { $0["bytes"] as? Int }, [1024, 4096])
        for object in lines {
            assertKeys(object, Self.allReduceKeys)
            XCTAssertEqual(object["ranks"] as? Int, 1)
            XCTAssertEqual(object["busbw_gbps"] as? Double, 0)
            XCTAssertNotNil(object["note"])
        }
    }

    func testBenchAllReduceUnderMPIWithTwoRanks() throws {
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found: install openmpi-bin")
        let result = try ProcessRunner.run(mpirun, ProcessRunner.mpirunArguments(ranks: 2) + [
            binary, "bench", "allreduce", "--sizes", "4096", "--iterations", "5",
        ], timeout: 60)
        let lines = try jsonLines(result)
        XCTAssertEqual(lines.count, 1, "rank 0 alone prints one line per size: \(result.output)")
        let object = try XCTUnwrap(lines.first)
        assertKeys(object, Self.allReduceKeys)
        XCTAssertEqual(object["bytes"] as? Int, 4096)
        XCTAssertEqual(object["ranks"] as? Int, 2)
        XCTAssertGreaterThan(try XCTUnwrap(object["time_us"] as? Double), 0)
        let algbw = try XCTUnwrap(object["algbw_gbps"] as? Double)
        XCTAssertGreaterThan(algbw, 0)
        // 2 ranks: busbw = algbw × 2(2−1)/2 = algbw (to the printed precision).
        XCTAssertEqual(try XCTUnwrap(object["busbw_gbps"] as? Double), algbw, accuracy: 0.0015)
    }

    func testBenchAllReduceRejectsSizesThatAreNotFloat32Buffers() throws {
        let result = try ProcessRunner.run(binary, ["bench", "allreduce", "--sizes", "1023"], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("1023"), result.error)
    }

    /// nccl-tests: algbw = bytes / time, busbw = algbw × 2(n−1)/n.
    func testBandwidthsFollowNCCLTests() {
        let result = AllReduceBenchmark.Result(bytes: 1_000_000, ranks: 4, iterations: 1, microseconds: 1000)
        XCTAssertEqual(result.algorithmBandwidth, 1.0, accuracy: 1e-12)
        XCTAssertEqual(result.busBandwidth, 1.5, accuracy: 1e-12)
        XCTAssertEqual(AllReduceBenchmark.Result(bytes: 1024, ranks: 1, iterations: 1, microseconds: 1).busBandwidth, 0)
    }

    /// In Float32 the bound leaves out the outputs that batch norms leave to the convolution
    /// after them (`BatchNorm2d.leavesOutputToReader`): ResNet-20's 9 block-first batch norms,
    /// 3 per stage at 16×32×32, 32×16×16 and 64×8×8 values an image: 86,016 values.
    func testFloat32MemoryBoundLeavesOutTheOutputsNormalisedWhereRead() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10)
        let norms = model.network.namedLayers().compactMap { item in
            (item.layer as? BatchNorm2d).map { (item.name, $0) }
        }
        let leaving = norms.filter { $0.1.nextConvolution != nil }.map(\.0)
        XCTAssertEqual(leaving, (0..<9).map { "layers.\($0).bn1" })
        let bound = try TrainingBenchmark.memoryLowerBound(model, batch: 64)
        for (_, norm) in norms { norm.normalizesWhereRead = false }
        let written = try TrainingBenchmark.memoryLowerBound(model, batch: 64)
        XCTAssertEqual(written - bound, Double(64 * 86_016 * 4) / Double(1 << 20), accuracy: 1e-9)
    }
}
