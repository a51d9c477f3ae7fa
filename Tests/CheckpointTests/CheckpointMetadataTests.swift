import Foundation
import XCTest

@testable import Checkpoint
@testable import NN
@testable import Optim

/// The checkpoint metadata as one Codable value: the flat string map it is stored as, files
/// written before it existed, and the errors a damaged map gives.
final class CheckpointMetadataTests: XCTestCase {
    /// What a checkpoint of the previous format held, written by hand-built code (a LeNet-5 run at step 3).
    static let previousFormat: [String: String] = [
        "format": "cnn-dist-checkpoint", "format_version": "1", "model": "lenet5", "input_shape": "1x28x28",
        "classes": "10", "config": "model:\n  name: \"lenet5\"\n", "seed": "5", "world_size": "1",
        "tensor_sha256": String(repeating: "ab", count: 32), "epoch": "0", "batch_in_epoch": "3", "global_step": "3",
        "learning_rate": "0.05", "epoch_loss_sum": "441.4796142578125", "epoch_correct": "25.0", "epoch_count": "192.0",
        "elapsed_seconds": "0.4071", "best_metric": "0.25", "scheduler.best.best": "0.25",
        "scheduler.best.epochs_without_improvement": "0",
    ]

    func testPreviousFormatReadsAndWritesBackTheSameEntries() throws {
        let metadata = try MetadataCoder.decode(CheckpointMetadata.self, from: Self.previousFormat)
        XCTAssertEqual(metadata.model, "lenet5")
        XCTAssertEqual(metadata.inputShape, "1x28x28")
        XCTAssertEqual(metadata.seed, 5)
        XCTAssertEqual(metadata.progress.globalStep, 3)
        XCTAssertEqual(metadata.progress.epochLossSum, 441.4796142578125)
        XCTAssertEqual(metadata.progress.bestMetric, 0.25)
        XCTAssertEqual(metadata.progress.schedulerState, ["best.best": "0.25", "best.epochs_without_improvement": "0"])
        XCTAssertEqual(try MetadataCoder.encode(metadata), Self.previousFormat)
    }

    func testNumbersRoundTripBitForBit() throws {
        var progress = TrainingProgress(learningRate: 0.1 + 0.2)
        progress.epochLossSum = .pi * 1e-300
        progress.elapsedSeconds = 1e23
        progress.epochCount = 192
        let entries = try MetadataCoder.encode(progress)
        XCTAssertEqual(entries["epoch_count"], "192.0")
        XCTAssertNil(entries["best_metric"])
        XCTAssertEqual(try MetadataCoder.decode(TrainingProgress.self, from: entries), progress)
    }

    func testDamagedEntriesNameTheKey() {
        var missing = Self.previousFormat
        missing["global_step"] = nil
        XCTAssertThrowsError(try MetadataCoder.decode(CheckpointMetadata.self, from: missing)) {
            guard case DecodingError.keyNotFound(let key, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(key.stringValue, "global_step")
        }
        var garbled = Self.previousFormat
        garbled["learning_rate"] = "fast"
        XCTAssertThrowsError(try MetadataCoder.decode(CheckpointMetadata.self, from: garbled)) {
            guard case DecodingError.dataCorrupted(let context) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(context.codingPath.first?.stringValue, "learning_rate")
        }
    }
}

/// Metadata no run writes is refused with the key named, before a resume can use it.
final class CheckpointMetadataRangeTests: XCTestCase {
    func testImpossibleValuesAreNamed() throws {
        let valid = try MetadataCoder.decode(CheckpointMetadata.self, from: CheckpointMetadataTests.previousFormat)
        XCTAssertEqual(valid.problems, [])
        let edits: [(String, String, String)] = [
            ("batch_in_epoch", "-3", "'batch_in_epoch' must lie in 0...2^40, got -3"),
            ("global_step", "9223372036854775807", "'global_step' must lie in 0...2^50, got 9223372036854775807"),
            ("world_size", "0", "'world_size' must be at least 1, got 0"),
            ("epoch", "4611686018427387904", "'epoch' must lie in 0...2^31, got 4611686018427387904"),
            ("format_version", "99", "'format_version' is 99; this build reads version 1"),
            ("learning_rate", "nan", "'learning_rate' must be a positive number, got nan"),
            ("elapsed_seconds", "-inf", "'elapsed_seconds' must be a finite number ≥ 0, got -inf"),
        ]
        for (key, value, expected) in edits {
            var entries = CheckpointMetadataTests.previousFormat
            entries[key] = value
            XCTAssertEqual(try MetadataCoder.decode(CheckpointMetadata.self, from: entries).problems, [expected], key)
        }
    }
}

/// metadata_sha256: an edited training state fails verification as edited tensors do; files
/// written before the entry existed still verify.
final class MetadataChecksumTests: XCTestCase {
    func checkpoint() throws -> SafeTensors.File {
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10)
        model.initializeParameters(seed: 3)
        let optimizer = SGD(parameters: model.namedParameters(), options: SGD.Options(learningRate: 0.05))
        var progress = TrainingProgress(learningRate: 0.05)
        progress.globalStep = 12
        let bytes = try CheckpointFile.encode(model: model, optimizer: optimizer, progress: progress,
                                              configYAML: "model: {name: lenet5}\n", seed: 3, worldSize: 1)
        return try SafeTensors.decode(bytes, source: "c.safetensors")
    }

    func testEditedMetadataIsAChecksumMismatch() throws {
        var file = try checkpoint()
        XCTAssertEqual(file.metadata[CheckpointFile.metadataChecksumKey]?.count, 64)
        XCTAssertNoThrow(try CheckpointFile.verified(file, path: "c.safetensors"))
        for (key, value) in [("global_step", "13"), ("learning_rate", "0.5"), ("config", "model: {name: alexnet}\n")] {
            var edited = file
            edited.metadata[key] = value
            XCTAssertThrowsError(try CheckpointFile.verified(edited, path: "c.safetensors"), key) {
                XCTAssertEqual("\($0)", "c.safetensors: checksum mismatch: the metadata (training state, config) "
                    + "does not hash to its metadata_sha256 (edited or corrupted file); use an older checkpoint")
            }
        }
        // A file of the previous format has no metadata checksum, and still verifies.
        file.metadata[CheckpointFile.metadataChecksumKey] = nil
        XCTAssertEqual(try CheckpointFile.verified(file, path: "c.safetensors").info.progress.globalStep, 12)
    }
}
