import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Train

/// Runs without run_dir: a new runs/<name>/version_N each, and a bare --resume takes the newest
/// version that has checkpoints (run in a scratch working directory).
final class RunFoldersTests: XCTestCase {
    func inScratchDirectory(_ body: () throws -> Void) throws {
        let previous = FileManager.default.currentDirectoryPath
        let scratch = ProcessRunner.temporaryDirectory("run-folders")
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(scratch))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try body()
    }

    func testFreshRunsGetNewVersionsAndABareResumeTakesTheNewest() throws {
        try inScratchDirectory {
            var config = TrainingFixtures.smallSynthetic(runDirectory: "unused")
            config.runDirectory = nil
            config.training.maxSteps = 2
            let options = StartOptions(runName: "tiny")
            for version in 0..<3 {
                let trainer = try Trainer(config: config, options: options, log: { _ in })
                XCTAssertEqual(trainer.config.runDirectory, "runs/tiny/version_\(version)")
                if version < 2 { try trainer.run() }  // version_2 stays without checkpoints
            }
            XCTAssertEqual(RunFolders.versions(in: "runs/tiny"), [0, 1, 2])
            config.training.maxSteps = 4
            let resume = StartOptions(resume: .latest, runName: "tiny")
            let resumed = try Trainer(config: config, options: resume, log: { _ in })
            XCTAssertEqual(resumed.config.runDirectory, "runs/tiny/version_1")
            XCTAssertEqual(resumed.progress.globalStep, 2)
            let written = try String(contentsOfFile: "runs/tiny/version_1/config.yaml", encoding: .utf8)
            XCTAssertTrue(written.contains("run_dir: \"runs/tiny/version_1\""), written)
            // A checkpoint path continues the run that wrote it, in its folder.
            let path = "runs/tiny/version_0/checkpoints/step-000000002.safetensors"
            let continued = try Trainer(config: config, options: StartOptions(resume: .path(path), runName: "tiny"),
                                        log: { _ in })
            XCTAssertEqual(continued.config.runDirectory, "runs/tiny/version_0")
            XCTAssertThrowsError(try RunFolders.latest(base: "runs/other")) {
                XCTAssertEqual("\($0)", "run directory runs/other: holds no run with checkpoints to resume; "
                    + "pass --resume PATH (a checkpoint) or --run-dir DIR (the run's folder)")
            }
        }
    }

    func testAnExplicitRunDirectoryIsUsedExactly() throws {
        try inScratchDirectory {
            let config = TrainingFixtures.smallSynthetic(runDirectory: "mine")
            let trainer = try Trainer(config: config, options: StartOptions(runName: "tiny"), log: { _ in })
            XCTAssertEqual(trainer.config.runDirectory, "mine")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "runs"))
        }
    }
}
