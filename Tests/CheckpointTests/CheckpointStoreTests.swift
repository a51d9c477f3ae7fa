import Checkpoint
import Foundation
import TestSupport
import XCTest

/// A checkpoint argument may name a run directory: its best checkpoint, else the latest.
final class CheckpointStoreTests: XCTestCase {
    func testRunDirectoriesResolveToBestThenLatest() throws {
        let run = ProcessRunner.temporaryDirectory("resolve")
        let store = try CheckpointStore(runDirectory: run, keepLast: 2)
        _ = try store.save(Data("a".utf8), step: 4)
        let latest = try store.save(Data("b".utf8), step: 8)
        XCTAssertEqual(try CheckpointStore.resolve(run), latest)
        try store.saveBest(Data("c".utf8))
        XCTAssertEqual(try CheckpointStore.resolve(run), run + "/checkpoints/best.safetensors")
        XCTAssertEqual(try CheckpointStore.resolve(latest), latest)  // a file is itself
        XCTAssertEqual(try CheckpointStore.resolve(run + "/nonexistent.safetensors"), run + "/nonexistent.safetensors")
        let empty = ProcessRunner.temporaryDirectory("resolve-empty")
        XCTAssertThrowsError(try CheckpointStore.resolve(empty)) { XCTAssertTrue("\($0)".contains("latest"), "\($0)") }
    }

    /// Temporary files of writers that died are removed when a store opens; a live writer's stay.
    func testOrphanTemporaryFilesAreRemoved() throws {
        let run = ProcessRunner.temporaryDirectory("orphans")
        try FileManager.default.createDirectory(atPath: run + "/checkpoints", withIntermediateDirectories: true)
        let dead = run + "/checkpoints/.step-000000004.safetensors.tmp-2147483646"
        let live = run + "/checkpoints/.latest.tmp-\(getpid())"
        let runFile = run + "/.config.yaml.tmp-2147483646"
        for file in [dead, live, runFile] { try Data("partial".utf8).write(to: URL(fileURLWithPath: file)) }
        _ = try CheckpointStore(runDirectory: run, keepLast: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        XCTAssertFalse(FileManager.default.fileExists(atPath: runFile))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    }
}
