import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Benchmarks
@testable import Distributed
@testable import NN
@testable import TensorCore
@testable import Train

/// `bench train --profile` and `train --profile-steps`: a row per leaf layer, the passes split,
/// the kernels named as the convolution chooses them, and the rows adding up to the step.
final class LayerProfileTests: XCTestCase {
    func profile(_ model: String, batch: Int) throws -> LayerProfile {
        let result = try TrainingBenchmark.run(
            model: model, globalBatch: batch, steps: 3, warmup: 1,
            communicator: SingleProcessCommunicator(), profile: true)
        XCTAssertNil(LayerProfiler.active, "the profiler is switched off after its steps")
        return try XCTUnwrap(result.profile)
    }

    func testRowsCoverEveryLeafAndAddUpToTheStep() throws {
        let report = try profile("resnet20", batch: 8)
        let model = try ModelZoo.make("resnet20", inputShape: ModelZoo.defaultInputShape("resnet20"), classes: 10)
        XCTAssertEqual(report.layers.map(\.layer), model.network.namedLeaves().map(\.path))
        XCTAssertEqual(report.layers.first?.layer, "conv1")
        for row in report.layers {
            XCTAssertGreaterThan(row.forwardMs, 0, row.layer)
            XCTAssertGreaterThanOrEqual(row.inputGradientMs, 0, row.layer)
            if row.kind == "Conv2d" || row.kind == "Linear" {
                XCTAssertNotNil(row.weightGradientMs, row.layer)
                XCTAssertGreaterThan(try XCTUnwrap(row.gflops), 0, row.layer)
            } else {
                XCTAssertNil(row.weightGradientMs, row.layer)
                XCTAssertNil(row.gflops, row.layer)
            }
        }
        // The first layer computes no input gradient (nothing upstream needs it).
        XCTAssertLessThan(report.layers[0].inputGradientMs, 0.05 * report.layers[0].totalMs + 0.01)
        // Layers and the time outside them add up to the measured step; the layers are most of it.
        let inLayers = report.layers.reduce(0) { $0 + $1.totalMs }
        let outside = report.outside.reduce(0) { $0 + $1.ms }
        XCTAssertEqual(inLayers + outside, report.stepMs, accuracy: 1e-9 * report.stepMs)
        XCTAssertEqual(
            report.outside.map(\.name),
            [
                "loss (softmax cross-entropy)", "optimizer (SGD)",
                "all-reduce wait", "other (containers, residual sums, hooks)",
            ])
        XCTAssertGreaterThan(inLayers, 0.5 * report.stepMs)
        XCTAssertGreaterThan(report.outside[1].ms, 0, "SGD takes time")
        XCTAssertGreaterThanOrEqual(report.outside[3].ms, -0.01 * report.stepMs, "the rest cannot be negative")
        XCTAssertTrue(report.table.contains("layers.3.shortcut.0 Conv2d"), report.table)
    }

    /// The kernel column names what the chooser picks for the layer's geometry, per pass.
    func testKernelsAreTheChoosersChoice() throws {
        let report = try profile("resnet20", batch: 8)
        let model = try ModelZoo.make("resnet20", inputShape: ModelZoo.defaultInputShape("resnet20"), classes: 10)
        _ = model.forward(Tensor(shape: [8] + model.inputShape))
        for (path, layer) in model.network.namedLeaves() {
            guard let conv = layer as? Conv2d, let names = conv.kernelNames else { continue }
            let expected =
                names.forward == names.inputGradient && names.forward == names.weightGradient
                ? names.forward : "\(names.forward) / dX \(names.inputGradient) / dW \(names.weightGradient)"
            XCTAssertEqual(report.layers.first { $0.layer == path }?.kernel, expected, path)
        }
        XCTAssertEqual(report.layers.last?.kernel, "GEMM")
        // ResNet-20's 3x3 stride-1 16-channel layers run forward and dX on the direct kernel (dW
        // too with AVX-512: 32 filters or fewer), its 1x1 shortcuts the pointwise GEMM.
        XCTAssertTrue(report.layers.first { $0.layer == "layers.0.conv1" }?.kernel?.hasPrefix("direct") ?? false)
        XCTAssertTrue(report.layers.first { $0.layer == "layers.3.shortcut.0" }?.kernel?.contains("GEMM") ?? false)
    }

    func testTrainingProfileIsLoggedAndWritten() throws {
        let directory = ProcessRunner.temporaryDirectory("profile-steps")
        var lines: [String] = []
        try TrainingLauncher.run(
            config: TrainingFixtures.smallSynthetic(runDirectory: directory),
            options: StartOptions(profileSteps: 3), log: { lines.append($0) })
        let table = try XCTUnwrap(lines.first { $0.hasPrefix("profile of steps 2–4 (rank 0):") })
        XCTAssertTrue(table.contains("conv1 Conv2d"), table)
        XCTAssertTrue(table.contains("data (waiting for the batch)"), table)
        let json =
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: URL(
                        fileURLWithPath: directory
                            + "/profile.json"))) as? [String: Any]
        XCTAssertEqual(json?["steps"] as? Int, 3)
        XCTAssertEqual((json?["layers"] as? [Any])?.count, 12, "LeNet-5's leaves")
        XCTAssertNil(LayerProfiler.active)
    }
}
