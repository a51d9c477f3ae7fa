import Foundation
import TensorCore
import TestSupport
import XCTest

@testable import Configuration
@testable import Train

final class TrainerEndToEndTests: XCTestCase {
    func testCommandLineReportsConfigErrorsWithoutATrace() throws {
        let directory = ProcessRunner.temporaryDirectory("cli-config")
        let file = directory + "/bad.yaml"
        try "training:\n  epochs: 2\n  batch_size: many\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["train", "--config", file], timeout: 60)
        XCTAssertEqual(result.status, 2)  // an input error: running again would not help
        XCTAssertEqual(result.error, "error: \(file):3: 'training.batch_size' must be an integer, got string \"many\"\n")
    }

    /// A mistyped command is named as one, not taken for an argument of `train`.
    func testUnknownCommandsAreRejectedWithASuggestion() throws {
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["evalute", "--checkpoint", "x"],
                                           timeout: 60)
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.error.hasPrefix(
            "error: unknown command 'evalute' (did you mean 'evaluate'?); commands: train, "), result.error)
    }

    /// --version names the commit it was built from and the CPU features it was built for.
    func testVersionNamesCommitAndCPUTarget() throws {
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["--version"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n").map(String.init)
        let arguments = ["git", "-C", TrainerEndToEndTests.repository, "rev-parse", "--short=12", "HEAD"]
        let git = try ProcessRunner.run("/usr/bin/env", arguments)
        // Outside a git work tree (an unpacked source archive) the build names no commit.
        let commit = git.status == 0 ? git.output.trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
        XCTAssertTrue(lines.first?.hasPrefix("cnn-dist 0.3.0 (git \(commit)") ?? false,
                      "\(lines) (a binary older than HEAD names its own commit: rebuild)")
        let here = CPUFeatures.current.relevantPresent.joined(separator: " ")
        XCTAssertTrue(lines.contains("this CPU has:      \(here)"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("kernels built for: ") }, "\(lines)")
    }

    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }
}
