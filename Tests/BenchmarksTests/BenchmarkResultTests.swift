import Distributed
import XCTest

@testable import Benchmarks

/// What the bench commands measure and print, run in-process (the commands themselves are
/// exercised end to end in EndToEndTests).
final class BenchmarkResultTests: XCTestCase {
    /// nccl-tests' definitions: algbw = bytes / time, busbw = algbw · 2(n−1)/n.
    func testAllReduceBandwidthsAndLine() {
        let result = AllReduceBenchmark.Result(bytes: 4_000_000, ranks: 4, iterations: 10, microseconds: 1_000)
        XCTAssertEqual(result.algorithmBandwidth, 4, accuracy: 1e-12)
        XCTAssertEqual(result.busBandwidth, 6, accuracy: 1e-12)
        XCTAssertEqual(result.jsonLine, "{\"algbw_gbps\":4,\"busbw_gbps\":6,\"bytes\":4000000,"
                           + "\"iterations\":10,\"ranks\":4,\"time_us\":1000}")
        let single = AllReduceBenchmark.Result(bytes: 8, ranks: 1, iterations: 1, microseconds: 0.5)
        XCTAssertTrue(single.jsonLine.contains("\"note\":\"single process: all-reduce is a no-op, bandwidths are 0\""))
    }

    func testGEMMMeasuresAPositiveRate() {
        let result = GEMMBenchmark.run(size: 64, threads: 1, repeats: 1, window: 0.02)
        XCTAssertEqual(result.size, 64)
        XCTAssertGreaterThan(result.gflops, 0.01)
        XCTAssertTrue(result.jsonLine.hasPrefix("{\"gflops\":"), result.jsonLine)
    }

    /// Rounds of up to 10 steps, each way once per round, alternating which goes first.
    func testInterleavedRoundsAlternateAndCoverEveryStep() {
        var order: [String] = []
        var covered: [Int] = []
        _ = PipelineBenchmark.interleaved(3..<28, { order.append("a\($0)"); covered += Array($0) },
                                          { order.append("b\($0)") },
                                          communicator: SingleProcessCommunicator(), allocationCounter: nil)
        XCTAssertEqual(order, ["b3..<13", "a3..<13", "a13..<23", "b13..<23", "b23..<28", "a23..<28"])
        XCTAssertEqual(covered, Array(3..<28))
    }
}
