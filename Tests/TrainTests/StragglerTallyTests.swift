import XCTest

@testable import Train

/// The straggler record: how often each rank arrived last at the all-reduce over an epoch.
final class StragglerTallyTests: XCTestCase {
    func testCountsAndSummary() {
        var tally = StragglerTally(ranks: 3)
        XCTAssertNil(tally.summary, "nothing recorded")
        for _ in 0..<8 { tally.record(lastToArrive: 1) }
        tally.record(lastToArrive: 0)
        tally.record(lastToArrive: 0)
        tally.record(lastToArrive: nil)  // a step with no waits recorded (the first) counts for no rank
        tally.record(lastToArrive: 7)  // not a rank of this job
        XCTAssertEqual(tally.lastCounts, [2, 8, 0])
        XCTAssertEqual(tally.summary,
                       "arrived last at the all-reduce: rank 1 in 8 of 10 steps (80%), rank 0 in 2 (20%)")
        tally.reset()
        XCTAssertEqual(tally.lastCounts, [0, 0, 0])
    }
}
