import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import NN
@testable import Train

/// Custom architectures in the config (`model.layers`): parsing with lines, shape inference,
/// PyTorch-style names, errors at the layer's line, round trip, and training.
final class CustomModelTests: XCTestCase {
    let network = """
    model:
      name: tiny-inception-resnet
      layers:
        - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}
        - batchnorm2d
        - relu
        - residual:
            layers: [conv2d: {out: 16, kernel: 3, padding: 1}, batchnorm2d, relu, conv2d: {out: 16, kernel: 3, padding: 1}]
        - residual:
            layers: [conv2d: {out: 32, kernel: 3, stride: 2, padding: 1}, relu, conv2d: {out: 32, kernel: [1, 3], padding: [0, 1]}]
            shortcut: [conv2d: {out: 32, kernel: 1, stride: 2}]
        - concat:
            branches: [[conv2d: {out: 8, kernel: 1}], [conv2d: {out: 8, kernel: 3, padding: 2, dilation: 2}, leakyrelu], [maxpool2d: {kernel: 3, stride: 1, padding: 1}]]
        - maxout: {pieces: 2}
        - adaptiveavgpool2d: {output: 1}
        - flatten
        - dropout: {p: 0.25}
        - linear: {}
    """

    func parse(_ yaml: String) throws -> TrainConfig {
        try TrainConfig.parse(yaml: yaml, source: "x.yaml", knownModels: Catalog.models)
    }

    func testBuildsNamesAndShapes() throws {
        let config = try parse(network)
        XCTAssertEqual(config.model.name, "tiny-inception-resnet")
        XCTAssertEqual(config.model.layers?.count, 11)
        let model = try ModelFactory.make(config.model, inputShape: [3, 16, 16], classes: 10)
        let names = model.namedParameters().map(\.name)
        XCTAssertEqual(names.prefix(3), ["0.weight", "1.weight", "1.bias"])
        XCTAssertTrue(names.contains("3.0.weight") && names.contains("3.3.bias"), "\(names)")
        XCTAssertTrue(names.contains("4.shortcut.0.weight") && names.contains("4.2.weight"), "\(names)")
        XCTAssertTrue(names.contains("5.branch1.0.weight") && names.contains("5.branch2.0.weight"), "\(names)")
        XCTAssertEqual(names.last, "10.bias")
        XCTAssertEqual(model.namedBuffers().map(\.name), ["1.running_mean", "1.running_var", "1.num_batches_tracked",
                                                        "3.1.running_mean", "3.1.running_var", "3.1.num_batches_tracked"])
        // concat: 8 + 8 + 32 channels = 48, maxout halves to 24, linear 24 → 10.
        XCTAssertEqual(model.namedParameters().first { $0.name == "10.weight" }?.parameter.value.shape, [10, 24])
        XCTAssertEqual(try model.network.outputShape(for: [2, 3, 16, 16]), [2, 10])
        let expected = 16 * 3 * 9 + 32 + (16 * 16 * 9 + 16) + 32 + (16 * 16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 32 * 3 + 32)
            + (32 * 16 + 32) + (8 * 32 + 8) + (8 * 32 * 9 + 8) + (24 * 10 + 10)
        XCTAssertEqual(model.parameterCount, expected)
    }

    func testModelFlagReplacesTheCustomLayers() throws {
        var config = try parse(network)
        var overrides = ConfigOverrides()
        overrides.model = "lenet5"
        try config.apply(overrides, knownModels: Catalog.models)
        XCTAssertEqual(config.model.name, "lenet5")
        XCTAssertNil(config.model.layers)
    }

    func testRoundTripsThroughResolvedYAML() throws {
        let config = try parse(network)
        XCTAssertEqual(try parse(config.resolvedYAML()), config.resolved())
    }

    /// Values torch refuses, and sizes that would exhaust memory, are config errors at the layer's
    /// line (a zero output size or a negative eps gave NaN at step 1 before).
    func testImpossibleLayerArgumentsAreErrors() {
        let cases = [
            ("adaptiveavgpool2d: {output: 0}", "'output' must be at least 1 on each side, got 0x0"),
            ("batchnorm2d: {eps: -1}", "'eps' must be a positive number, got -1.0"),
            ("conv2d: {out: 100000000, kernel: 3}", "'out' must be at most 1000000, got 100000000"),
            ("conv2d: {out: 8, kernel: 0}", "'kernel' must be at least 1 on each side, got 0x0"),
            ("maxpool2d: {kernel: 2, stride: [1, 0]}", "'stride' must be at least 1 on each side, got 1x0"),
        ]
        for (layer, message) in cases {
            let kind = String(layer.prefix { $0 != ":" })
            assertError("    - conv2d: {out: 4, kernel: 3}\n    - \(layer)\n",
                        "x.yaml:4: layer 1 (\(kind)): \(message)")
        }
    }

    func assertError(_ layers: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let yaml = "model:\n  layers:\n" + layers
        XCTAssertThrowsError(try {
            let config = try parse(yaml)
            _ = try ModelFactory.make(config.model, inputShape: [3, 16, 16], classes: 10)
        }(), file: file, line: line) {
            XCTAssertEqual("\($0)", expected, file: file, line: line)
        }
    }

    func testErrorsNameTheLayerAndLine() {
        assertError("""
            - conv2d: {out: 32, kernel: 3}
            - relu
            - conv2d: {out: 32, kernel: 3}
            - relu
            - maxpool2d: {kernel: 2}
            - conv2d: {in: 64, out: 64, kernel: 3}
        """, "x.yaml:8: layer 5 (conv2d): expects 64 input channels, got 32")
        assertError("    - conv2d: {out: 8, kernel: 3}\n    - linear: {out: 10}\n",
                    "x.yaml:4: layer 1 (linear): expects a 2-D input [N, features], got [1, 8, 14, 14] (add flatten before it)")
        assertError("    - conv2d: {out: 8, kernel: 33}\n",
                    "x.yaml:3: layer 0 (conv2d): invalid geometry: kernel 33x33 (dilation 1) is larger than the padded input 16x16 (input 16x16, padding 0)")
        assertError("    - conv2d: {out: 8, kernal: 3}\n",
                    "x.yaml:3: 'model.layers[0]' (conv2d): unknown argument 'kernal' (did you mean 'kernel'?); "
                        + "known: in, out, kernel, stride, padding, dilation, groups, bias")
        assertError("    - conv: {out: 8}\n",
                    "x.yaml:3: 'model.layers[0]': unknown layer 'conv' (did you mean 'conv2d'?); known layers: adaptiveavgpool2d, "
                        + "avgpool2d, batchnorm2d, concat, conv2d, dropout, elu, flatten, leakyrelu, linear, localresponsenorm, "
                        + "maxout, maxpool2d, relu, residual, sigmoid, tanh")
        assertError("    - residual:\n        layers: [conv2d: {out: 8, kernel: 3, padding: 1}]\n",
                    "x.yaml:3: layer 0 (residual): main path gives [8, 16, 16] but the identity shortcut passes [3, 16, 16]; "
                        + "add a projection shortcut")
        assertError("    - flatten\n    - linear: {out: 7}\n",
                    "x.yaml:4: model.layers end with output [7] per sample; the last layer must give [10] class scores (add flatten and linear)")
        assertError("    - conv2d: {out: 8, kernel: 3, groups: 3}\n",
                    "x.yaml:3: layer 0 (conv2d): channels 3 → 8 do not divide into 3 groups")
    }

    func testSummaryOfACustomConfig() throws {
        let directory = ProcessRunner.temporaryDirectory("custom-summary")
        try (network + "\ndata:\n  dataset: cifar10\n  path: /nonexistent\n").write(toFile: directory + "/net.yaml", atomically: true, encoding: .utf8)
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["summary", "--config", directory + "/net.yaml"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.hasPrefix("tiny-inception-resnet: input 3x32x32, 10 classes"), result.output)
        let model = try ModelFactory.make(try parse(network).model, inputShape: [3, 32, 32], classes: 10)
        var digits = String(model.parameterCount), total = ""
        while digits.count > 3 { total = "," + digits.suffix(3) + total; digits.removeLast(3) }
        total = digits + total
        XCTAssertTrue(result.output.contains("parameters") && result.output.contains(" \(total) "), result.output)
        XCTAssertTrue(result.output.contains("5 Concat"), result.output)
    }

    func testTrainsOnTheBuiltInData() throws {
        let directory = ProcessRunner.temporaryDirectory("custom-train")
        var config = try parse("""
        model:
          layers:
            - conv2d: {out: 8, kernel: 5, padding: 2}
            - batchnorm2d
            - relu
            - maxpool2d: {kernel: 2}
            - residual:
                layers: [conv2d: {out: 8, kernel: 3, padding: 1}, batchnorm2d, relu, conv2d: {out: 8, kernel: 3, padding: 1}, batchnorm2d]
            - maxpool2d: {kernel: 2}
            - flatten
            - dropout: {p: 0.1}
            - linear: {out: 64}
            - relu
            - linear
        """)
        let fixture = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 3_200, epochs: 3)
        config.data = fixture.data
        config.training = fixture.training
        config.training.threads = 2
        config.runDirectory = directory
        let history = try TrainingLauncher.run(config: config, workers: 2, log: { _ in })
        XCTAssertEqual(config.model.name, "custom")
        XCTAssertLessThan(history[2].trainLoss, history[0].trainLoss * 0.7, "\(history.map(\.trainLoss))")
        XCTAssertGreaterThan(history[2].validationAccuracy, 0.5)
        let weights = try SafeTensors.read(path: directory + "/model.safetensors")
        XCTAssertTrue(weights.tensors.contains { $0.name == "4.4.running_var" })
        XCTAssertEqual(try TrainConfig.load(file: directory + "/config.yaml", knownModels: Catalog.models), config.resolved())
    }
}
