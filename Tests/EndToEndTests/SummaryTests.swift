import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Train

/// `cnn-dist summary`, run as the built executable.
final class SummaryTests: XCTestCase {
    var binary: String { ProcessRunner.product("cnn-dist") }

    func summary(_ arguments: [String]) throws -> ProcessRunner.Result {
        try ProcessRunner.run(binary, ["summary"] + arguments, timeout: 120,
                              directory: TrainingFixtures.repositoryRoot.path)
    }

    func testTableForLeNet5() throws {
        let result = try summary(["--model", "lenet5"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "lenet5: input 1x28x28, 10 classes")
        XCTAssertTrue(lines.contains { $0.hasPrefix("layer ") && $0.hasSuffix("MACs  RF  jump") }, result.output)
        func row(_ name: String) -> [String] {
            let line = lines.first { $0.hasPrefix(name + " ") } ?? ""
            return line.split(separator: " ").map(String.init)
        }
        XCTAssertEqual(row("input"), ["input", "1x28x28", "784", "3.1", "KiB", "1", "1"])
        XCTAssertEqual(row("conv2"), ["conv2", "Conv2d", "16x10x10", "1,600", "6.2", "KiB", "2,400", "16", "240,000", "14", "2"])
        XCTAssertEqual(row("relu2"), ["relu2", "ReLU", "16x10x10", "—", "—", "14", "2"])
        XCTAssertEqual(row("fc1"), ["fc1", "Linear", "84", "84", "336", "bytes", "10,080", "84", "10,080", "—", "—"])
        XCTAssertTrue(result.output.contains("parameters              61,706  weights 61,470 + biases 236"), result.output)
        XCTAssertTrue(result.output.contains("multiply-accumulates   416,520  per image"), result.output)
        XCTAssertTrue(result.output.contains("forward activations      8,878  values per image, input included: 34.7 KiB"),
                      result.output)
        XCTAssertTrue(result.output.contains("training activations    17,756"), result.output)
        XCTAssertTrue(result.output.contains("fixed training memory  185,118"), result.output)
        XCTAssertTrue(result.output.contains("Activation memory counts the input image and every layer output PyTorch "
                                             + "materialises (convolutions, linear layers, pooling, batch norm"), result.output)
        XCTAssertFalse(result.output.contains("CS231n"), "the VGG note belongs to VGG summaries")
        XCTAssertFalse(result.output.contains("†"), "LeNet-5 at 28x28 tiles every stride")
    }

    func testVGG16Table() throws {
        let result = try summary(["--model", "vgg16"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "vgg16: input 3x224x224, 1,000 classes")
        func row(_ path: String) -> [String] {
            (lines.first { $0.hasPrefix(path + " ") } ?? "").split(separator: " ").map(String.init)
        }
        XCTAssertEqual(row("features.0"), ["features.0", "Conv2d", "64x224x224", "3,211,264", "12.2", "MiB", "1,728", "64",
                                           "86,704,128", "3", "1"])
        XCTAssertEqual(row("features.28").suffix(2), ["196", "16"])
        XCTAssertEqual(row("features.30").suffix(2), ["212", "32"])
        XCTAssertTrue(result.output.contains("\nparameters                138,357,544  "), result.output)
        XCTAssertTrue(result.output.contains("\nmultiply-accumulates   15,470,264,320  "), result.output)
        XCTAssertTrue(result.output.contains("\nforward activations        15,262,696  "), result.output)
        XCTAssertTrue(result.output.contains("CS231n's \"~24M\" activations per image for VGG-16 is an arithmetic slip: "
                                             + "its own per-layer rows sum to 15,237,608 (about 15.2M)"), result.output)
    }

    /// `summary --config` on every shipped config: the model for its data set's shape and classes.
    func testEveryShippedConfig() throws {
        let configs = try FileManager.default.contentsOfDirectory(
            atPath: TrainingFixtures.repositoryRoot.appendingPathComponent("configs").path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(configs.count, 8)
        let expected = ["alexnet-imagenet.yaml": "alexnet: input 3x224x224, 1,000 classes",
                        "vgg16-imagenet.yaml": "vgg16: input 3x224x224, 1,000 classes",
                        "googlenet-imagenet.yaml": "googlenet: input 3x224x224, 1,000 classes",
                        "resnet50-imagenet.yaml": "resnet50: input 3x224x224, 1,000 classes",
                        "resnet20-cifar10.yaml": "resnet20: input 3x32x32, 10 classes",
                        "default.yaml": "lenet5: input 1x28x28, 10 classes"]
        for config in configs.sorted() {
            let result = try summary(["--config", "configs/" + config])
            XCTAssertEqual(result.status, 0, "\(config): \(result.error)")
            if let title = expected[config] {
                XCTAssertEqual(result.output.split(separator: "\n").first.map(String.init), title, config)
            }
        }
        let resnet50 = try summary(["--config", "configs/resnet50-imagenet.yaml", "--format", "json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(resnet50.output.utf8)) as? [String: Any])
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(totals["parameters"] as? Int, 25_557_032)
        XCTAssertEqual(totals["macs"] as? Int, 4_089_184_256)
    }

    func testMarkdown() throws {
        let result = try summary(["--model", "lenet5", "--format", "markdown"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "### lenet5: input 1x28x28, 10 classes")
        XCTAssertTrue(lines.contains("| layer | output | activations | memory | weights | biases | MACs | RF | jump |"))
        XCTAssertTrue(lines.contains("|---|---|---:|---:|---:|---:|---:|---:|---:|"))
        XCTAssertTrue(lines.contains("| conv1 Conv2d | 6x28x28 | 4,704 | 18.4 KiB | 150 | 6 | 117,600 | 5 | 1 |"), result.output)
        XCTAssertTrue(lines.contains("- **parameters**: 61,706 (weights 61,470 + biases 236; 241.0 KiB)"), result.output)
        XCTAssertEqual(lines.filter { $0.hasPrefix("| ") }.count, 1 + 1 + 12)
    }

    func testJSON() throws {
        let result = try summary(["--model", "lenet5", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.error)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual(document["model"] as? String, "lenet5")
        XCTAssertEqual(document["input_shape"] as? [Int], [1, 28, 28])
        XCTAssertEqual(document["classes"] as? Int, 10)
        let totals = try XCTUnwrap(document["totals"] as? [String: Any])
        XCTAssertEqual(totals["parameters"] as? Int, 61_706)
        XCTAssertEqual(totals["weights"] as? Int, 61_470)
        XCTAssertEqual(totals["biases"] as? Int, 236)
        XCTAssertEqual(totals["macs"] as? Int, 416_520)
        XCTAssertEqual(totals["forward_activations"] as? Int, 8_878)
        XCTAssertEqual(totals["forward_activation_bytes"] as? Int, 4 * 8_878)
        XCTAssertEqual(totals["training_activations"] as? Int, 2 * 8_878)
        XCTAssertEqual(totals["fixed_training_bytes"] as? Int, 12 * 61_706)
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 12)
        XCTAssertEqual(rows[0]["name"] as? String, "conv1 Conv2d")
        XCTAssertEqual(rows[0]["path"] as? String, "conv1")
        XCTAssertEqual(rows[0]["output_shape"] as? [Int], [6, 28, 28])
        XCTAssertEqual(rows[0]["receptive_field"] as? [Int], [5, 5])
        XCTAssertEqual(rows[0]["tiles_input"] as? Bool, true)
        XCTAssertEqual(rows[1]["allocates_output"] as? Bool, false)
        XCTAssertTrue(rows[8]["receptive_field"] is NSNull, "flattened outputs have no receptive field")
        XCTAssertEqual(rows[11]["macs"] as? Int, 840)
        XCTAssertFalse((document["notes"] as? [String] ?? []).isEmpty)
    }

    func testInputAndClassesAndAnUntiledStride() throws {
        // At 29x29 the 2x2 pool after conv1 leaves the last row and column out (29 − 2 = 27 is odd).
        let result = try summary(["--model", "lenet5", "--input", "1x29x29", "--classes", "5"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.hasPrefix("lenet5: input 1x29x29, 5 classes\n"), result.output)
        XCTAssertTrue(result.output.contains("\npool1 MaxPool2d †  6x14x14"), result.output)
        XCTAssertTrue(result.output.contains("\n† pool1 MaxPool2d: 29 + 2·0 − 2 = 27 is not a multiple of the stride 2; "
                                             + "PyTorch floors the output size and drops the last row and column (input)\n"),
                      result.output)
        XCTAssertEqual(result.output.components(separatedBy: "†").count - 1, 2, "one marker, one footnote")
        let fc2 = result.output.split(separator: "\n").first { $0.hasPrefix("fc2 ") }?.split(separator: " ") ?? []
        XCTAssertEqual(fc2.prefix(3), ["fc2", "Linear", "5"])

        let json = try summary(["--model", "lenet5", "--input", "1x29x29", "--format", "json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]])
        XCTAssertEqual(rows[2]["tiles_input"] as? Bool, false)
        XCTAssertEqual(rows[2]["uncovered"] as? [Int], [1, 1])
        XCTAssertEqual(rows[2]["uncovered_input"] as? [Int], [1, 1])
        XCTAssertEqual(rows[2]["input_shape"] as? [Int], [6, 29, 29])
        XCTAssertEqual(rows[2]["window_extent"] as? [Int], [2, 2])
        XCTAssertEqual(rows[2]["window_stride"] as? [Int], [2, 2])
        XCTAssertEqual(rows[2]["padding"] as? [Int], [0, 0])
        XCTAssertTrue(rows[1]["window_extent"] is NSNull)
    }

    func testConfigGivesTheDataSetsShape() throws {
        let result = try summary(["--config", "configs/lenet5-mnist.yaml"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.hasPrefix("lenet5: input 1x28x28, 10 classes\n"), result.output)

        // A data set of another shape and class count (CIFAR-100: 3x32x32, 100 classes) without loading it.
        let directory = ProcessRunner.temporaryDirectory("summary-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/cifar100.yaml"
        try "model:\n  name: lenet5\ndata:\n  dataset: cifar100\n  path: nowhere\n".write(toFile: path, atomically: true, encoding: .utf8)
        let cifar = try summary(["--config", path, "--format", "json"])
        XCTAssertEqual(cifar.status, 0, cifar.error)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(cifar.output.utf8)) as? [String: Any])
        XCTAssertEqual(document["input_shape"] as? [Int], [3, 32, 32])
        XCTAssertEqual(document["classes"] as? Int, 100)
    }

    func testErrors() throws {
        let unknown = try summary(["--model", "nope"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.error.hasPrefix("error: unknown model 'nope'; known models: "), unknown.error)
        XCTAssertEqual(unknown.output, "")

        let badInput = try summary(["--model", "lenet5", "--input", "1x0x28"])
        XCTAssertNotEqual(badInput.status, 0)
        XCTAssertTrue(badInput.error.contains("--input '1x0x28': expected positive sizes joined by x"), badInput.error)

        let tooSmall = try summary(["--model", "lenet5", "--input", "1x8x8"])
        XCTAssertEqual(tooSmall.status, 1)
        XCTAssertTrue(tooSmall.error.hasPrefix("error: layer "), tooSmall.error)

        let neither = try summary([])
        XCTAssertNotEqual(neither.status, 0)
        XCTAssertTrue(neither.error.contains("give either --model NAME or --config FILE"), neither.error)
        let both = try summary(["--model", "lenet5", "--config", "configs/lenet5-mnist.yaml"])
        XCTAssertNotEqual(both.status, 0)

        let missingConfig = try summary(["--config", "configs/nope.yaml"])
        XCTAssertEqual(missingConfig.status, 2)  // an input error: running again would not help
        XCTAssertTrue(missingConfig.error.contains("configs/nope.yaml: no such config file"), missingConfig.error)
    }
}
