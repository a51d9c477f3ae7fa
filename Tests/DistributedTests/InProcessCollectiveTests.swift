import Foundation
import XCTest

@testable import Distributed

/// Collectives of the in-process communicator on odd sizes, at 2 and 4 ranks.
final class InProcessCollectiveTests: XCTestCase {
    /// Runs `body(communicator)` on every rank of a new group, each on its own thread.
    func onEveryRank(_ size: Int, _ body: @escaping (InProcessCommunicator) -> Void) throws {
        let group = DispatchGroup()
        for communicator in try InProcessCommunicator.makeGroup(size: size) {
            group.enter()
            Thread.detachNewThread {
                body(communicator)
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "collectives hung")
    }

    func testAllReduceOverOddSizesAndSeveralBuckets() throws {
        for ranks in [2, 4] {
            let failures = NSLock()
            var messages: [String] = []
            try onEveryRank(ranks) { communicator in
                // Several buffers in a row, as gradient buckets issue them.
                for size in [0, 1, 7, 1_000_003] {
                    var values = (0..<size).map { Float(($0 % 1000) * (communicator.rank + 1)) }
                    let request = values.withUnsafeMutableBufferPointer {
                        communicator.startAllReduceSum($0, bucket: 0)
                    }
                    request.wait()
                    let factor = Float(ranks * (ranks + 1) / 2)
                    for i in stride(from: 0, to: size, by: max(1, size / 97)) where values[i] != Float(i % 1000) * factor {
                        failures.lock(); messages.append("ranks \(ranks) size \(size) [\(i)] = \(values[i])"); failures.unlock()
                        break
                    }
                }
                var doubles = [Double(communicator.rank), 0.5]
                communicator.allReduceSum(&doubles)
                if doubles != [Double(ranks * (ranks - 1) / 2), 0.5 * Double(ranks)] {
                    failures.lock(); messages.append("doubles \(doubles)"); failures.unlock()
                }
            }
            XCTAssertEqual(messages, [])
        }
    }

    func testBroadcastAndAllGather() throws {
        for ranks in [2, 4] {
            let lock = NSLock()
            var results: [Int: ([Float], [Double])] = [:]
            try onEveryRank(ranks) { communicator in
                var values = [Float](repeating: Float(communicator.rank), count: 1_000_003)
                values.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: 1) }
                var empty: [Float] = []
                empty.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: 0) }
                let gathered = communicator.allGather(Double(communicator.rank * 10))
                lock.lock(); results[communicator.rank] = ([values[0], values[1_000_002]], gathered); lock.unlock()
            }
            for rank in 0..<ranks {
                XCTAssertEqual(results[rank]?.0, [1, 1])
                XCTAssertEqual(results[rank]?.1, (0..<ranks).map { Double($0 * 10) })
            }
        }
    }

    func testWorkersMustBePositive() {
        XCTAssertThrowsError(try InProcessCommunicator.makeGroup(size: 0)) {
            XCTAssertEqual("\($0)", "--workers must be at least 1, got 0")
        }
    }
}
