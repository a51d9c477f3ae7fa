import Foundation
import TestSupport
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import NN
@testable import Train

/// `cnn-dist checkpoint init`: a fresh model's weights as safetensors.
final class CheckpointInitTests: XCTestCase {
    var binary: String { ProcessRunner.product("cnn-dist") }

    func testWritesTheInitialWeightsUnderPyTorchNames() throws {
        let directory = ProcessRunner.temporaryDirectory("checkpoint-init")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/lenet5.safetensors"
        let result = try ProcessRunner.run(binary, ["checkpoint", "init", "--model", "lenet5", "--seed", "7", "-o", path],
                                           timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.output, "\(path): lenet5 for 1x28x28 and 10 classes, seed 7: 10 tensors, 61706 values\n")

        let file = try SafeTensors.read(path: path)
        let model = try Catalog.makeModel("lenet5")
        model.initializeParameters(seed: 7)
        XCTAssertEqual(file.tensors.map(\.name), model.namedParameters().map(\.name) + model.namedBuffers().map(\.name))
        XCTAssertEqual(file.tensors.count, 10)
        for (name, parameter) in model.namedParameters() {
            XCTAssertEqual(file[name]?.shape, parameter.value.shape, name)
            XCTAssertEqual(file[name]?.values, parameter.value.array, "\(name): not what seed 7 initialises")
        }
        XCTAssertEqual(file.metadata["model"], "lenet5")
        XCTAssertEqual(file.metadata["input_shape"], "1x28x28")
        XCTAssertEqual(file.metadata["classes"], "10")
        XCTAssertEqual(file.metadata["seed"], "7")
        XCTAssertEqual(file.metadata["written_by"], InitialWeights.writer)
        XCTAssertNil(file.metadata["format"], "weights only: not a training checkpoint")
        XCTAssertEqual(file.metadata["tensor_sha256"], CheckpointFile.tensorDigest(file))
        // Written atomically: nothing but the file is left in the directory.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["lenet5.safetensors"])

        // `checkpoint verify` checks its data checksum.
        let verified = try ProcessRunner.run(binary, ["checkpoint", "verify", path], timeout: 60)
        XCTAssertEqual(verified.status, 0, verified.error)
        XCTAssertTrue(verified.output.hasPrefix("\(path): ok, initial weights only (10 tensors, sha256 "), verified.output)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0x40
        let damaged = directory + "/damaged.safetensors"
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let mismatch = try ProcessRunner.run(binary, ["checkpoint", "verify", damaged], timeout: 60)
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.error.contains("checksum mismatch"), mismatch.error)
        try FileManager.default.removeItem(atPath: damaged)

        // It is what a run with --init-from starts from: --max-steps 0 saves the starting weights.
        let run = directory + "/run"
        let train = try ProcessRunner.run(binary, ["train", "--init-from", path, "--max-steps", "0", "--run-dir", run,
                                                   "--seed", "1", "--threads", "1"], timeout: 120)
        XCTAssertEqual(train.status, 0, train.error)
        let saved = try CheckpointFile.load(path: try CheckpointStore.latest(inRunDirectory: run))
        for entry in file.tensors { XCTAssertEqual(saved.file[entry.name]?.values, entry.values, entry.name) }
    }

    func testInputAndClassesShapeTheModel() throws {
        let directory = ProcessRunner.temporaryDirectory("checkpoint-init-shape")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/w.safetensors"
        let result = try ProcessRunner.run(binary, ["checkpoint", "init", "--model", "lenet5", "--input", "3x32x32",
                                                    "--classes", "5", "--output", path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        let file = try SafeTensors.read(path: path)
        XCTAssertEqual(file["conv1.weight"]?.shape, [6, 3, 5, 5])
        XCTAssertEqual(file["fc1.weight"]?.shape, [84, 120 * 2 * 2])
        XCTAssertEqual(file["fc2.weight"]?.shape, [5, 84])
        XCTAssertEqual(file.metadata["input_shape"], "3x32x32")
        // The default seed is training.seed's default.
        let model = try Catalog.makeModel("lenet5", inputShape: [3, 32, 32], classes: 5)
        model.initializeParameters(seed: TrainConfig().training.seed)
        XCTAssertEqual(file["conv1.weight"]?.values, model.namedParameters()[0].parameter.value.array)
    }

    func testUnknownModelFailsWithoutWriting() throws {
        let directory = ProcessRunner.temporaryDirectory("checkpoint-init-unknown")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/w.safetensors"
        let result = try ProcessRunner.run(binary, ["checkpoint", "init", "--model", "resnet9000", "-o", path], timeout: 60)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.error.hasPrefix("error: unknown model 'resnet9000'; known models: lenet5"), result.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let unwritable = try ProcessRunner.run(binary, ["checkpoint", "init", "--model", "lenet5",
                                                        "-o", directory + "/no/such/dir/w.safetensors"], timeout: 60)
        XCTAssertEqual(unwritable.status, 1)
        XCTAssertTrue(unwritable.error.contains("cannot be written"), unwritable.error)

        let noOutput = try ProcessRunner.run(binary, ["checkpoint", "init", "--model", "lenet5"], timeout: 60)
        XCTAssertNotEqual(noOutput.status, 0)
        XCTAssertTrue(noOutput.error.contains("--output"), noOutput.error)
    }
}
