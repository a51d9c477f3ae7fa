import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Datasets
@testable import Distributed
@testable import NN
@testable import Train

final class EvaluationEndToEndTests: XCTestCase {
    func testCommandLine() throws {
        let directory = ProcessRunner.temporaryDirectory("evaluate-cli")
        try TrainingLauncher.run(config: TrainingFixtures.smallSynthetic(runDirectory: directory), log: { _ in })
        let binary = ProcessRunner.product("cnn-dist")
        let json = try ProcessRunner.run(binary, ["evaluate", "--checkpoint", directory + "/checkpoints/step-000000010.safetensors",
                                                  "--format", "json"], timeout: 120)
        XCTAssertEqual(json.status, 0, json.error)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["images"] as? Int, 256)
        let table = try ProcessRunner.run(binary, ["evaluate", "--checkpoint", directory + "/checkpoints/step-000000010.safetensors"],
                                          timeout: 120)
        XCTAssertEqual(table.status, 0, table.error)
        XCTAssertTrue(table.output.contains("top-1 "), table.output)
        let missing = try ProcessRunner.run(binary, ["evaluate", "--checkpoint", directory + "/nothing.safetensors"], timeout: 60)
        XCTAssertEqual(missing.status, 2)  // an input error: running again would not help
        XCTAssertEqual(missing.error, "error: \(directory)/nothing.safetensors: cannot be read (missing or no permission)\n")
    }
}
