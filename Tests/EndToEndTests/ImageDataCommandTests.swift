import Foundation
import TestSupport
import XCTest

/// `data make-images`, `inspect`, `pack` and `tensor` as a user runs them, a packed set trains as
/// its folder does, and `--help` prints help on every command.
final class ImageDataCommandTests: XCTestCase {
    let binary = ProcessRunner.product("cnn-dist")

    func run(_ arguments: [String], expectStatus: Int32 = 0) throws -> ProcessRunner.Result {
        let result = try ProcessRunner.run(binary, arguments, timeout: 300)
        XCTAssertEqual(result.status, expectStatus, "\(arguments): \(result.error)")
        return result
    }

    func testMakeInspectPackAndTrainOnTheFolderOrThePack() throws {
        let directory = ProcessRunner.temporaryDirectory("image-commands")
        let folder = directory + "/photos", packed = directory + "/packed"
        let made = try run([
            "data", "make-images", "-o", folder, "--classes", "3", "--train-per-class", "6",
            "--val-per-class", "2", "--size", "64x48",
        ])
        XCTAssertEqual(made.output, "wrote 24 JPEG images (3 classes, 6/2 per class for train/val) to \(folder)\n")
        let inspected = try run(["data", "inspect", folder])
        XCTAssertTrue(
            inspected.output.hasPrefix("\(folder): image folder, 3 classes, 18 train / 6 val images\n"),
            inspected.output)
        XCTAssertTrue(inspected.output.contains("class001        6        2"), inspected.output)
        let packedLine = try run(["data", "pack", folder, "-o", packed, "--shard-mb", "1"])
        XCTAssertEqual(
            packedLine.output, "packed 18 train in 1 shard(s), 6 val in 1 shard(s), 3 classes, into \(packed)\n")
        let json = try run(["data", "inspect", packed, "--format", "json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        XCTAssertEqual(object["kind"] as? String, "packed set")
        XCTAssertEqual(object["train"] as? Int, 18)

        // The same run on the folder and on its pack: the same weights.
        func train(_ data: String) throws -> String {
            let runDirectory = directory + "/run-\(UUID().uuidString)"
            _ = try run([
                "train", "--dataset", "imagefolder", "--data", data, "--model", "lenet5", "--epochs", "1",
                "--batch-size", "6", "--seed", "3", "--run-dir", runDirectory,
                "--set", "data.image_size=32", "--set", "data.channels=1", "--set", "data.resize=36",
                "--set", "data.augment.random_resized_crop.enabled=true", "--set", "data.augment.horizontal_flip=true",
            ])
            let verified = try run(["checkpoint", "verify", runDirectory + "/checkpoints/step-000000003.safetensors"])
            return verified.output
        }
        let fromFolder = try train(folder), fromPack = try train(packed)
        // "PATH: ok (N tensors, sha256 HEX)": the part after the path.
        func digest(_ text: String) -> Substring? { text.range(of: ": ok (").map { text[$0.lowerBound...] } }
        XCTAssertNotNil(digest(fromFolder), fromFolder)
        XCTAssertEqual(digest(fromFolder), digest(fromPack))
    }

    func testTensorWritesANumPyArray() throws {
        let directory = ProcessRunner.temporaryDirectory("image-tensor")
        _ = try run([
            "data", "make-images", "-o", directory + "/p", "--classes", "1", "--train-per-class", "1",
            "--val-per-class", "1", "--size", "40x30",
        ])
        let file = directory + "/p/train/class000/class000_00000.JPEG"
        _ = try run(["data", "tensor", file, file, "--size", "16", "-o", directory + "/t.npy"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/t.npy"))
        XCTAssertEqual(Array(bytes.prefix(6)), [0x93] + Array("NUMPY".utf8))
        let header = String(decoding: bytes[10..<128], as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (2, 3, 16, 16)"), header)
        XCTAssertEqual(bytes.count, 128 + 2 * 3 * 16 * 16 * 4)
        let failed = try run(["data", "tensor", directory + "/t.npy", "-o", directory + "/u.npy"], expectStatus: 2)
        XCTAssertTrue(failed.error.contains("t.npy: neither JPEG nor PNG"), failed.error)
    }

    func testHelpWorksOnEveryCommand() throws {
        for arguments in [
            ["--help"], ["data", "--help"], ["train", "--help"], ["bench", "images", "--help"],
            ["config", "--help"],
        ] {
            let result = try run(arguments)
            XCTAssertTrue(result.output.contains("USAGE:"), "\(arguments): \(result.output)")
        }
    }
}
