import Foundation
import TestSupport
import TrainingFixtures
import XCTest

/// `cnn-dist bench gemm`, run as the built executable.
final class BenchGEMMTests: XCTestCase {
    func testPrintsOneJSONLinePerSize() throws {
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"),
                                           ["bench", "gemm", "--sizes", "64", "--threads", "1", "--repeats", "1"],
                                           timeout: 60, directory: TrainingFixtures.repositoryRoot.path)
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1, result.output)
        let object = try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(object?["size"] as? Int, 64, result.output)
        XCTAssertEqual(object?["threads"] as? Int, 1, result.output)
        let gflops = try XCTUnwrap(object?["gflops"] as? Double, result.output)
        XCTAssertGreaterThan(gflops, 0)
    }

    func testRejectsBadSizes() throws {
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["bench", "gemm", "--sizes", "64,x"],
                                           timeout: 60, directory: TrainingFixtures.repositoryRoot.path)
        XCTAssertNotEqual(result.status, 0)
    }
}
