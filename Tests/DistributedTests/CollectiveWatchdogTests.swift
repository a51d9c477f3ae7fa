import XCTest

@testable import Distributed

/// The watchdog's pure parts: how long it sleeps between polls, what a rank tells another, and the
/// report naming the ranks that have not arrived. The timeout itself runs under mpirun in
/// RankFailureTests.
final class CollectiveWatchdogTests: XCTestCase {
    let position = CollectivePosition(
        phase: CollectivePhase(step: 4120, activity: .training),
        operation: .allReduce(bucket: 3))

    func testPausesGrowWithTheWaitWithinBounds() {
        XCTAssertEqual(CollectiveWatchdog.pause(afterWaiting: 0.02), 0.02 / 16)
        XCTAssertEqual(CollectiveWatchdog.pause(afterWaiting: 0), 50e-6)
        XCTAssertEqual(CollectiveWatchdog.pause(afterWaiting: 300), 0.05)
        // Over a five-minute wait the rank sleeps nearly all the time: polls stay under 20 per second
        // after the first second, so waiting does not spin a core.
        var time = CollectiveWatchdog.spinSeconds, polls = 0
        while time < 300 {
            time += CollectiveWatchdog.pause(afterWaiting: time)
            polls += 1
        }
        XCTAssertLessThan(polls, 20 * 300 + 200)
        XCTAssertGreaterThan(polls, 20 * 290)
    }

    func testPositionsTravelAsIntegers() {
        let positions = [
            position,
            CollectivePosition(phase: CollectivePhase(step: 0, activity: .startingUp), operation: .broadcast(root: 2)),
            CollectivePosition(
                phase: CollectivePhase(step: 9, activity: .validation), operation: .allReduce(bucket: nil)),
            CollectivePosition(phase: CollectivePhase(step: 7, activity: .finishing), operation: .barrier),
            CollectivePosition(phase: CollectivePhase(step: 7, activity: .replicaCheck), operation: .allGather),
        ]
        for original in positions {
            XCTAssertEqual(CollectivePosition(encoded: original.encoded[...]), original)
        }
        XCTAssertNil(CollectivePosition(encoded: [1, 99, 0, 0][...]), "an unknown activity")
        XCTAssertNil(CollectivePosition(encoded: [1, 1, 9, 0][...]), "an unknown operation")
        XCTAssertEqual(position.description, "step 4120 (training, all-reduce bucket 3)")
    }

    func testReportNamesSilentAndStrayRanks() {
        let elsewhere = CollectivePosition(
            phase: CollectivePhase(step: 4100, activity: .finishing), operation: .barrier)
        let report = CollectiveWatchdog.report(
            rank: 0, worldSize: 5, position: position, waited: 300.2, timeout: 300,
            answers: [2: (position, 299.6), 3: (elsewhere, 40),
                      4: (CollectivePosition(phase: position.phase, operation: .allReduce(bucket: 0)), 300)])
        let lines = report.split(separator: "\n").map(String.init)
        XCTAssertEqual(
            lines[0],
            "[rank 0] collective timeout: waited 300 s at step 4120 (training, all-reduce bucket 3) "
                + "(distributed.timeout_s: 300)")
        XCTAssertTrue(
            lines[1].hasPrefix(
                "  rank 1 has not reached step 4120 (training, all-reduce bucket 3) for 300 s: "
                    + "it does not answer"), lines[1])
        XCTAssertEqual(lines[2], "  rank 2 waits at the same point (300 s)")
        XCTAssertTrue(
            lines[3].hasPrefix(
                "  rank 3 has not reached step 4120 (training, all-reduce bucket 3): it waits at "
                    + "step 4100 (end of run, barrier)"), lines[3])
        XCTAssertEqual(lines[4], "  rank 4 waits in the same step, at all-reduce bucket 0 (300 s)")
        XCTAssertTrue(lines[5].contains("not arrived: rank(s) 1, 3"), lines[5])
    }
}
