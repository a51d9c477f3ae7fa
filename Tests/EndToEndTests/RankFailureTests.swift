import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Train

/// A failing rank must end the whole job, non-zero, naming the rank, within 30 s: never a hang.
final class RankFailureTests: XCTestCase {
    var mpirun: String!

    override func setUpWithError() throws {
        mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found: install openmpi-bin (launch/prerequisites.sh)")
    }

    /// MPMD launch: ranks 0–2 run `good`, rank 3 runs `bad`.
    func runFourRanks(good: [String], bad: [String], timeout: Double = 60) throws -> ProcessRunner.Result {
        let binary = ProcessRunner.product("cnn-dist")
        return try ProcessRunner.run(mpirun, ["--oversubscribe", "--allow-run-as-root", "-n", "3", binary] + good
                                     + [":", "-n", "1", binary] + bad, timeout: timeout)
    }

    func testRankFailingAtStartUpEndsTheJob() throws {
        let directory = ProcessRunner.temporaryDirectory("startup-failure")
        let config = try TrainingFixtures.write(TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 50),
                                                in: directory)
        let result = try runFourRanks(good: ["train", "--config", config],
                                      bad: ["train", "--config", directory + "/missing.yaml"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(result.seconds, 30)
        XCTAssertTrue(result.error.contains("[rank 3] error:") && result.error.contains("missing.yaml"), result.error)
    }

    func testRankThrowingMidEpochEndsTheJob() throws {
        let directory = ProcessRunner.temporaryDirectory("midrun-failure")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 6400, epochs: 50)
        config.distributed.checkEvery = 5
        let file = try TrainingFixtures.write(config, in: directory)
        // Rank 3 decays its weights differently (rank 0 broadcasts the learning rate, so that
        // cannot differ): its replica drifts, and the periodic consistency check stops
        // everyone, naming the rank and the tensor.
        config.optimizer.weightDecay = 0.01
        let drifting = try TrainingFixtures.write(config, in: directory, name: "drifting.yaml")
        let result = try runFourRanks(good: ["train", "--config", file], bad: ["train", "--config", drifting])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(result.seconds, 30)
        XCTAssertTrue(result.error.contains("replicas diverged at step 5") && result.error.contains("on rank(s) 3"),
                      result.error)
    }

    func testRankKilledMidEpochEndsTheJob() throws {
        let directory = ProcessRunner.temporaryDirectory("killed-rank")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 6400, epochs: 50)
        config.logEvery = 5
        let file = try TrainingFixtures.write(config, in: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ProcessRunner.mpirunArguments(ranks: 4) + [ProcessRunner.product("cnn-dist"), "train", "--config", file]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Wait for training to be under way, then kill one rank outright.
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("step 10/") {
            seen.append(output.fileHandleForReading.availableData)
        }
        XCTAssertTrue(String(decoding: seen, as: UTF8.self).contains("step 10/"), "training did not start")
        let ranks = try ProcessRunner.run("/usr/bin/pgrep", ["-P", String(process.processIdentifier)]).output
            .split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 4, "rank processes: \(ranks)")
        let killedAt = Date()
        kill(ranks[2], SIGKILL)
        while process.isRunning && Date().timeIntervalSince(killedAt) < 30 { usleep(50_000) }
        let ended = !process.isRunning
        if !ended { process.terminate() }
        process.waitUntilExit()
        XCTAssertTrue(ended, "job still running 30 s after a rank was killed")
        XCTAssertNotEqual(process.terminationStatus, 0)
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(message.contains("rank") && message.contains("signal 9"), message)
    }
}
