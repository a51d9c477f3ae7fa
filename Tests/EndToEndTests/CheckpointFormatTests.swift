import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Train

/// The checkpoint file itself: the safetensors byte layout, what a training checkpoint
/// holds, and every way a damaged file must fail (clearly, naming the file, never a trap).
final class CheckpointFormatTests: XCTestCase {
    /// The byte layout of the safetensors spec, checked byte by byte.
    func testSafeTensorsByteLayout() throws {
        let a: [Float] = [1, -2, 0.5], b: [Float] = [3, 4]
        let bytes = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                SafeTensors.encode(tensors: [("w", [3], pa), ("v.bias", [1, 2], pb)], metadata: ["k": "v"])
            }
        }
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        XCTAssertEqual((8 + headerLength) % 8, 0, "data must start 8-byte aligned")
        XCTAssertEqual(bytes.count, 8 + headerLength + 5 * 4)
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        XCTAssertEqual(header["__metadata__"] as? [String: String], ["k": "v"])
        let w = try XCTUnwrap(header["w"] as? [String: Any]), v = try XCTUnwrap(header["v.bias"] as? [String: Any])
        XCTAssertEqual(w["dtype"] as? String, "F32")
        XCTAssertEqual(w["shape"] as? [Int], [3])
        XCTAssertEqual(w["data_offsets"] as? [Int], [0, 12])
        XCTAssertEqual(v["shape"] as? [Int], [1, 2])
        XCTAssertEqual(v["data_offsets"] as? [Int], [12, 20])
        // Raw little-endian IEEE 754: 1.0 = 0x3F800000, -2.0 = 0xC0000000.
        let data = [UInt8](bytes.suffix(20))
        XCTAssertEqual(Array(data[0..<8]), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        XCTAssertEqual(Array(data[16..<20]), [0x00, 0x00, 0x80, 0x40])  // 4.0
        let decoded = try SafeTensors.decode(bytes, source: "mem")
        XCTAssertEqual(decoded.tensors, [SafeTensors.Entry(name: "w", shape: [3], values: a),
                                         SafeTensors.Entry(name: "v.bias", shape: [1, 2], values: b)])
    }

    /// A file as the Python reference writer lays it out (header without padding, keys in
    /// another order) decodes too.
    func testDecodesAForeignWriterLayout() throws {
        let json = #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var bytes = Data()
        var length = UInt64(json.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(Data(json.utf8))
        for value: Float in [7, 9] { withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) } }
        let file = try SafeTensors.decode(bytes, source: "foreign")
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        XCTAssertEqual(file.tensors.map(\.values), [[7], [9]])
    }

    /// One real training checkpoint, written with --max-steps mid-epoch.
    func makeCheckpoint() throws -> (directory: String, path: String) {
        let directory = ProcessRunner.temporaryDirectory("checkpoint-format")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory)
        config.training.maxSteps = 3
        try TrainingLauncher.run(config: config, log: { _ in })
        return (directory, directory + "/checkpoints/step-000000003.safetensors")
    }

    func testTrainingCheckpointHoldsWeightsMomentumAndState() throws {
        let (directory, path) = try makeCheckpoint()
        XCTAssertEqual(try String(contentsOfFile: directory + "/checkpoints/latest", encoding: .utf8), "step-000000003.safetensors\n")
        let checkpoint = try CheckpointFile.load(path: path)
        let weights = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
                       "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
        XCTAssertEqual(checkpoint.file.tensors.map(\.name), weights + weights.map { "optimizer.momentum_buffer." + $0 })
        XCTAssertEqual(checkpoint.file["conv2.weight"]?.shape, [16, 6, 5, 5])
        XCTAssertEqual(checkpoint.file["optimizer.momentum_buffer.fc1.weight"]?.shape, [84, 120])
        let m = checkpoint.metadata
        XCTAssertEqual(m["format"], "cnn-dist-checkpoint")
        XCTAssertEqual(m["format_version"], "1")
        XCTAssertEqual(m["model"], "lenet5")
        XCTAssertEqual(m["input_shape"], "1x28x28")
        XCTAssertEqual(m["classes"], "10")
        XCTAssertEqual(m["seed"], "5")
        XCTAssertEqual(m["world_size"], "1")
        XCTAssertEqual(m["epoch"], "0")
        XCTAssertEqual(m["batch_in_epoch"], "3")
        XCTAssertEqual(m["global_step"], "3")
        XCTAssertEqual(m["learning_rate"], "0.05")
        XCTAssertEqual(m["epoch_count"], "192.0")
        XCTAssertEqual(m["tensor_sha256"], checkpoint.tensorDigest())
        XCTAssertEqual(m["tensor_sha256"]?.count, 64)
        // The resolved config parses back to the run's config.
        let configFile = directory + "/from-checkpoint.yaml"
        try XCTUnwrap(m["config"]).write(toFile: configFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TrainConfig.load(file: configFile, knownModels: Catalog.models).training.maxSteps, 3)
        XCTAssertEqual(CheckpointReport.verify(path: path).status, 0)
    }

    /// Writes `bytes` to a new file beside `path` and returns its path.
    func damaged(_ path: String, _ change: (inout Data) -> Void) throws -> String {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&bytes)
        let target = path.replacingOccurrences(of: ".safetensors", with: "-damaged-\(UUID().uuidString.prefix(8)).safetensors")
        try bytes.write(to: URL(fileURLWithPath: target))
        return target
    }

    func assertLoadFails(_ path: String, status: Int32, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointFile.load(path: path), line: line) {
            XCTAssertTrue("\($0)".hasPrefix(path + ": "), "error must name the file: \($0)", line: line)
            XCTAssertTrue("\($0)".contains(expected), "\($0)", line: line)
        }
        XCTAssertEqual(CheckpointReport.verify(path: path).status, status, line: line)
    }

    func testTruncatedCheckpoints() throws {
        let (_, path) = try makeCheckpoint()
        let size = try Data(contentsOf: URL(fileURLWithPath: path)).count
        assertLoadFails(try damaged(path) { $0 = $0.prefix(5) }, status: 2, "shorter than the 8-byte header length")
        assertLoadFails(try damaged(path) { $0 = $0.prefix(100) }, status: 2, "exceeds the file size")
        assertLoadFails(try damaged(path) { $0 = $0.prefix(size - 1) }, status: 2, "truncated file?")
        assertLoadFails(try damaged(path) { $0 = $0.prefix(size / 2) }, status: 2, "truncated file?")
        assertLoadFails(try damaged(path) { $0 = Data() }, status: 2, "shorter than the 8-byte header length")
    }

    func testOneFlippedByteIsAChecksumMismatch() throws {
        let (_, path) = try makeCheckpoint()
        let size = try Data(contentsOf: URL(fileURLWithPath: path)).count
        for offset in [size - 1, size - 250_000, size / 2] {
            let flipped = try damaged(path) { $0[offset] ^= 0x01 }
            assertLoadFails(flipped, status: 1, "checksum mismatch")
            // The command-line tool reports it with exit status 1.
            let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["checkpoint", "verify", flipped], timeout: 60)
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.error.hasPrefix("error: \(flipped): checksum mismatch"), result.error)
        }
        let good = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["checkpoint", "verify", path], timeout: 60)
        XCTAssertEqual(good.status, 0)
        XCTAssertTrue(good.output.contains(": ok (20 tensors, sha256 "), good.output)
    }

    func testBadHeaders() throws {
        let (_, path) = try makeCheckpoint()
        // Garbage in place of the JSON header, same length.
        assertLoadFails(try damaged(path) { bytes in
            for i in 8..<40 { bytes[i] = UInt8(ascii: "#") }
        }, status: 2, "header is not a JSON object")
        // Valid JSON, impossible content.
        func file(header: String, data: Int = 0) -> Data {
            var bytes = Data()
            var length = UInt64(header.utf8.count).littleEndian
            withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
            return bytes + Data(header.utf8) + Data(count: data)
        }
        let directory = ProcessRunner.temporaryDirectory("bad-header")
        let cases: [(String, Int, String)] = [
            (#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, 8, "dtype F64; only F32"),
            (#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, 16, "impossible shape"),
            (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4, "impossible shape"),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, 8, "outside the 8 data bytes"),
            (#"{"w":{"dtype":"F32","shape":[2]}}"#, 8, "no valid dtype, shape and data_offsets"),
            (#"{"__metadata__":{"a":1}}"#, 0, "__metadata__ is not a map of strings"),
            (#"[1,2]"#, 0, "header is not a JSON object"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4, "no cnn-dist training state"),
        ]
        for (index, (header, data, expected)) in cases.enumerated() {
            let path = directory + "/case\(index).safetensors"
            try file(header: header, data: data).write(to: URL(fileURLWithPath: path))
            assertLoadFails(path, status: 2, expected)
        }
        assertLoadFails(directory + "/absent.safetensors", status: 2, "cannot be read")
    }

    func testInspectPrintsMetadataAndTensorTable() throws {
        let (_, path) = try makeCheckpoint()
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["checkpoint", "inspect", path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("  global_step: 3\n"), result.output)
        XCTAssertTrue(result.output.contains("  model: lenet5\n"), result.output)
        XCTAssertTrue(result.output.contains("\nconfig:\n  model:\n"), result.output)
        XCTAssertNotNil(result.output.range(of: #"conv2\.weight +\[16, 6, 5, 5\] +2400\n"#, options: .regularExpression), result.output)
        XCTAssertTrue(result.output.hasSuffix("20 tensors, 123412 values (493648 bytes)\n"), result.output)
        let missing = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["checkpoint", "inspect", path + ".nope"], timeout: 60)
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.error, "error: \(path).nope: cannot be read (missing or no permission)\n")
    }
}
