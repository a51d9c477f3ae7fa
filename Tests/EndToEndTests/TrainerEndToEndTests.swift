import Foundation
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
}
