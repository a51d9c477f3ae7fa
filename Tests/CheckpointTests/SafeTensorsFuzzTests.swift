import Foundation
import TestSupport
import XCTest

@testable import Checkpoint

/// Seeded, bounded fuzzing of the checkpoint reader: mutations of a valid checkpoint must read
/// (and then fail the checksum or the metadata checks) or fail with an error naming the file,
/// never crash, whatever the bytes.
final class SafeTensorsFuzzTests: XCTestCase {
    func validCheckpoint() throws -> Data {
        let weights: [Float] = (0..<24).map { Float($0) * 0.25 - 3 }, bias: [Float] = [1, -1, 0.5]
        let tensors: [(String, [Int], [Float])] = [("fc.weight", [3, 8], weights), ("fc.bias", [3], bias)]
        let digest = tensors.withUnsafeViews { CheckpointFile.digest($0) }
        var progress = TrainingProgress(learningRate: 0.05)
        progress.globalStep = 7
        progress.schedulerState = ["best.best": "0.5"]
        let metadata = CheckpointMetadata(model: "tiny", inputShape: [8], classes: 3, config: "model: {name: tiny}\n",
                                          seed: 1, worldSize: 2, tensorSHA256: digest, progress: progress)
        let entries = try MetadataCoder.encode(metadata)
        return tensors.withUnsafeViews { SafeTensors.encode(tensors: $0, metadata: entries) }
    }

    func testMutatedCheckpointsReadOrFailClearly() throws {
        let valid = try validCheckpoint()
        XCTAssertNoThrow(try CheckpointFile.verified(SafeTensors.decode(valid, source: "c.safetensors"),
                                                     path: "c.safetensors"))
        var mutator = FuzzMutator(seed: 11)
        var outcomes: [String: Int] = [:]
        for _ in 0..<3_000 {
            let bytes = Data(mutator.mutate([UInt8](valid)))
            do {
                let file = try SafeTensors.decode(bytes, source: "c.safetensors")
                _ = file.tensors.map(\.values)
                _ = try CheckpointFile.verified(file, path: "c.safetensors")
                outcomes["read", default: 0] += 1
            } catch let error as CheckpointError {
                XCTAssertTrue("\(error)".hasPrefix("c.safetensors: "), "\(error)")
                let text = "\(error)"
                let kind = text.contains("checksum mismatch") ? "checksum"
                    : text.contains("metadata '") ? "metadata" : "structure"
                outcomes[kind, default: 0] += 1
            }
        }
        // The mutations reach every layer of the reader: structure, checksum and metadata.
        for kind in ["read", "structure", "checksum", "metadata"] {
            XCTAssertGreaterThan(outcomes[kind, default: 0], 0, "\(kind): \(outcomes)")
        }
    }
}
