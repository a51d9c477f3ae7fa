import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Benchmarks
@testable import NN
@testable import TensorCore

/// `bench gemm --precision bf16` and `bench train --precision bf16`: the path that ran, the
/// memory bound, and CNN_DIST_ISA (also for `train`).
final class BFloat16CommandTests: XCTestCase {
    private func bench(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessRunner.Result {
        try ProcessRunner.run(
            ProcessRunner.product("cnn-dist"), ["bench"] + arguments, timeout: 120,
            environment: environment, directory: TrainingFixtures.repositoryRoot.path)
    }

    private func object(_ result: ProcessRunner.Result) throws -> [String: Any] {
        let line = try XCTUnwrap(result.output.split(separator: "\n").last.map(String.init), result.error)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
    }

    func testGEMMReportsThePathThatRan() throws {
        let bf16 = try bench(
            ["gemm", "--sizes", "64", "--repeats", "1", "--precision", "bf16"],
            environment: ["CNN_DIST_ISA": "emulated"])
        XCTAssertEqual(bf16.status, 0, bf16.error)
        let report = try object(bf16)
        XCTAssertEqual(report["precision"] as? String, "bf16")
        XCTAssertEqual(report["path"] as? String, "emulated")
        XCTAssertGreaterThan(try XCTUnwrap(report["gflops"] as? Double), 0)
        let best = try object(try bench(["gemm", "--sizes", "64", "--repeats", "1", "--precision", "bf16"]))
        XCTAssertEqual(best["path"] as? String, BFloat16ISA.best(for: .current).rawValue)
    }

    /// `bench conv --precision bf16` times a bf16 layer's candidates: on the best path the chosen
    /// one is what a bf16 Conv2d runs (its profile name), listed first; on the emulated path the
    /// Float32 kernels (the exact emulation runs them on rounded copies).
    func testConvolutionBenchmarkTimesTheBFloat16Candidates() throws {
        let arguments = ["conv", "--model", "lenet5", "--batch", "2", "--calls", "1", "--threads", "1",
                         "--precision", "bf16", "--format", "json"]
        for environment in [[:], ["CNN_DIST_ISA": "emulated"]] {
            let result = try bench(arguments, environment: environment)
            XCTAssertEqual(result.status, 0, result.error)
            let rows = try result.output.split(separator: "\n").map { line in
                try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            }
            XCTAssertEqual(rows.count, 9, "LeNet-5's three convolutions, three passes each: \(result.output)")
            let isa = environment.isEmpty ? BFloat16ISA.best(for: .current) : .emulated
            let product = MatrixProduct.forPrecision(.bf16, isa: isa)
            for row in rows {
                let timings = try XCTUnwrap(row["timings"] as? [[String: Any]])
                let names = timings.compactMap { $0["algorithm"] as? String }
                XCTAssertEqual(names.first, row["chosen"] as? String, "\(row)")
                XCTAssertEqual(Set(names).count, names.count, "\(row)")
                XCTAssertTrue(timings.allSatisfy { ($0["ms"] as? Double ?? -1) >= 0 }, "\(row)")
                XCTAssertEqual(names.contains { $0.contains("bf16 GEMM") }, product != .float32, "\(isa) \(row)")
            }
            // The first convolution (1→6, 5x5 at 28x28 on two images): the choice of a bf16 Conv2d
            // on one thread, as the command ran (the choice depends on the thread count).
            let g = try ConvolutionGeometry(
                batch: 2, inChannels: 1, inHeight: 28, inWidth: 28, outChannels: 6,
                kernelHeight: 5, kernelWidth: 5, padHeight: 2, padWidth: 2)
            let threads = Parallel.threadCount
            Parallel.threadCount = 1
            defer { Parallel.threadCount = threads }
            XCTAssertEqual(rows.first?["chosen"] as? String,
                           Convolution.name(Convolution.choice(g, .forward, product: product), g, product: product))
        }
    }

    func testForcingAPathThisCPULacksIsAnError() throws {
        guard let missing = [BFloat16ISA.amx, .avx512bf16].first(where: { $0.missingFlag(on: .current) != nil }) else {
            throw XCTSkip("this CPU has both amx_tile and avx512_bf16: no path to force that it lacks")
        }
        let result = try bench(
            ["gemm", "--sizes", "64", "--precision", "bf16"],
            environment: ["CNN_DIST_ISA": missing.rawValue])
        XCTAssertEqual(result.status, 1, result.output)
        let flag = try XCTUnwrap(missing.missingFlag(on: .current))
        XCTAssertTrue(result.error.contains("CNN_DIST_ISA=\(missing): this CPU lacks \(flag)"), result.error)
    }

    func testTrainStopsOnAForcedPathBeforeTheRunDirectory() throws {
        guard let missing = [BFloat16ISA.amx, .avx512bf16].first(where: { $0.missingFlag(on: .current) != nil }) else {
            throw XCTSkip("this CPU has both amx_tile and avx512_bf16: no path to force that it lacks")
        }
        let directory = ProcessRunner.temporaryDirectory("forced-isa") + "/run"
        let result = try ProcessRunner.run(
            ProcessRunner.product("cnn-dist"),
            ["train", "--precision", "bf16", "--max-steps", "1", "--run-dir", directory],
            timeout: 120, environment: ["CNN_DIST_ISA": missing.rawValue],
            directory: TrainingFixtures.repositoryRoot.path)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.error.contains("CNN_DIST_ISA=\(missing): this CPU lacks"), result.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory), "the run directory was created")
    }

    func testTrainReportsPrecisionPathAndMemoryBound() throws {
        let result = try bench(
            [
                "train", "--model", "lenet5", "--batch-size", "8", "--threads", "1", "--steps", "2",
                "--warmup", "1", "--precision", "bf16",
            ], environment: ["CNN_DIST_ISA": "emulated"])
        XCTAssertEqual(result.status, 0, result.error)
        let report = try object(result)
        XCTAssertEqual(report["precision"] as? String, "bf16")
        XCTAssertEqual(report["path"] as? String, "emulated")
        XCTAssertEqual(report["allocations_per_step"] as? Double, 0, result.output)
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10)
        // The bound depends on the path, so compute it for the one the command ran.
        let saved = BFloat16ISA.active
        BFloat16ISA.active = .emulated
        defer { BFloat16ISA.active = saved }
        XCTAssertEqual(
            try XCTUnwrap(report["memory_lower_bound_mib"] as? Double),
            try TrainingBenchmark.memoryLowerBound(model, batch: 8, precision: .bf16), accuracy: 0.05)
    }

    /// MiB the bf16 lower bound adds to the Float32 one for `model` at batch 64, on the emulated
    /// path.
    private func bfloat16BoundExcess(_ model: String, inputShape: [Int]) throws -> Double {
        let saved = BFloat16ISA.active
        BFloat16ISA.active = .emulated
        defer { BFloat16ISA.active = saved }
        let model = try ModelZoo.make(model, inputShape: inputShape, classes: 10)
        // Against Float32 with every batch norm's output written (BenchCommandTests has the rest).
        for (_, layer) in model.network.namedLayers() { (layer as? BatchNorm2d)?.normalizesWhereRead = false }
        let fp32 = try TrainingBenchmark.memoryLowerBound(model, batch: 64)
        return try TrainingBenchmark.memoryLowerBound(model, batch: 64, precision: .bf16) - fp32
    }

    /// On the emulated path bf16 adds LeNet-5's 61,706 parameter copies and, per image, the
    /// linear layers' output-gradient copies (84 + 10). The convolutions copy their inputs and
    /// output gradients only where those are not bf16 values already, which the lower bound
    /// leaves out.
    func testBFloat16MemoryBoundCountsTheCopies() throws {
        XCTAssertEqual(try bfloat16BoundExcess("lenet5", inputShape: [1, 28, 28]),
                       Double((61_706 + 64 * 94) * 4) / Double(1 << 20), accuracy: 1e-9)
    }

    /// ResNet-20's 21 convolutions each feed a batch norm (18 in the blocks, the stem, and the
    /// two shortcut projections), 7 per stage at 16×32×32, 32×16×16 and 64×8×8 values an image:
    /// 200,704 values. Each block's first batch norm feeds its second convolution, 3 per stage:
    /// 86,016 values. The sums of the first 8 of its 9 blocks feed the next (3, 3 and 2 per
    /// stage): 81,920 values. Those are kept as bf16 bits, half their bytes saved. Beside that the
    /// emulated path copies the 270,906 weights (the convolutions', the linear layer's and its
    /// bias) and the linear layer's 10-value output gradient.
    func testBFloat16MemoryBoundHalvesTheTensorsKeptAsBits() throws {
        let copies = 270_906 + 64 * 10, halved = 64 * (200_704 + 86_016 + 81_920) / 2
        XCTAssertEqual(try bfloat16BoundExcess("resnet20", inputShape: [3, 32, 32]),
                       Double((copies - halved) * 4) / Double(1 << 20), accuracy: 1e-9)
    }
}
