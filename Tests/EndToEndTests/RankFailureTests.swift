import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
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

    func testRanksStartedWithDifferentSettingsStopBeforeTheFirstStep() throws {
        let directory = ProcessRunner.temporaryDirectory("disagreeing-ranks")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 6400, epochs: 50)
        let file = try TrainingFixtures.write(config, in: directory)
        config.optimizer.weightDecay = 0.01
        let other = try TrainingFixtures.write(config, in: directory, name: "other.yaml")
        let result = try runFourRanks(good: ["train", "--config", file],
                                      bad: ["train", "--config", other, "--seed", "9", "--threads", "2"])
        XCTAssertEqual(result.status, 2, result.error)
        XCTAssertLessThan(result.seconds, 30)
        XCTAssertTrue(result.error.contains("the ranks do not agree before the first step"), result.error)
        XCTAssertTrue(result.error.contains("optimizer.weight_decay: 0.0005 on rank 0, 0.01 on rank(s) 3"),
                      result.error)
        XCTAssertTrue(result.error.contains("training.seed: 5 on rank 0, 9 on rank(s) 3"), result.error)
        XCTAssertFalse(result.error.contains("training.threads"), "threads may differ per rank: \(result.error)")
        XCTAssertFalse(CheckpointStore.hasCheckpoints(runDirectory: directory))
    }

    /// Rank 3 reads its own copy of an image folder whose training images are broken: it fails at
    /// its first batch, and the job ends naming it.
    func testRankThrowingMidEpochEndsTheJob() throws {
        let directory = ProcessRunner.temporaryDirectory("midrun-failure")
        let good = directory + "/images", broken = directory + "/broken"
        let make = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), [
            "data", "make-images", "--output", good, "--classes", "2", "--train-per-class", "16",
            "--val-per-class", "4", "--size", "40x32",
        ])
        XCTAssertEqual(make.status, 0, make.error)
        try FileManager.default.copyItem(atPath: good, toPath: broken)
        let trainImages = try FileManager.default.subpathsOfDirectory(atPath: broken + "/train")
            .filter { $0.hasSuffix(".JPEG") }
        for image in trainImages {
            try Data("not a JPEG".utf8).write(to: URL(fileURLWithPath: broken + "/train/" + image))
        }
        func config(_ path: String) -> String {
            """
            model:
              layers: [conv2d: {out: 4, kernel: 3}, relu, flatten, linear: {}]
            data: {dataset: imagefolder, path: \(path), image_size: 16, resize: 18, workers: 1}
            training: {epochs: 5, batch_size: 8, seed: 4, threads: 1}
            run_dir: \(directory)/run
            """
        }
        try config(good).write(toFile: directory + "/good.yaml", atomically: true, encoding: .utf8)
        try config(broken).write(toFile: directory + "/broken.yaml", atomically: true, encoding: .utf8)
        let result = try runFourRanks(good: ["train", "--config", directory + "/good.yaml"],
                                      bad: ["train", "--config", directory + "/broken.yaml"])
        XCTAssertEqual(result.status, 2, result.error)
        XCTAssertLessThan(result.seconds, 30)
        XCTAssertTrue(result.error.contains("[rank 3] error:") && result.error.contains(broken + "/train/"),
                      result.error)
    }

    /// The process ids of an mpirun job's ranks, by rank (read from each child's environment).
    func rankProcesses(of mpirun: Process, count: Int) throws -> [Int32] {
        let children = try ProcessRunner.run("/usr/bin/pgrep", ["-P", String(mpirun.processIdentifier)]).output
            .split(separator: "\n").compactMap { Int32($0) }
        var byRank = [Int32](repeating: -1, count: count)
        for pid in children {
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            for entry in environment.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst(21)), rank < count {
                    byRank[rank] = pid
                }
            }
        }
        return byRank
    }

    /// Seconds of CPU `pid` has used (user + system, all threads).
    func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)  // utime, stime
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A job of `count` ranks with `timeout_s`, started and under way (step 10 logged); its mpirun
    /// process, output pipes and rank pids by rank.
    func startRanks(_ count: Int, timeout: Double, name: String) throws -> (Process, Pipe, Pipe, [Int32]) {
        let directory = ProcessRunner.temporaryDirectory(name)
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 6400, epochs: 50)
        config.logEvery = 5
        config.distributed.timeoutSeconds = timeout
        let file = try TrainingFixtures.write(config, in: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ProcessRunner.mpirunArguments(ranks: count)
            + [ProcessRunner.product("cnn-dist"), "train", "--config", file]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("step 10/") {
            seen.append(output.fileHandleForReading.availableData)
        }
        XCTAssertTrue(String(decoding: seen, as: UTF8.self).contains("step 10/"), "training did not start")
        let ranks = try rankProcesses(of: process, count: count)
        XCTAssertFalse(ranks.contains(-1), "rank processes: \(ranks)")
        return (process, output, errors, ranks)
    }

    /// Horovod's stall shutdown: a stopped rank ends the job after timeout_s, the message naming it,
    /// and the waiting rank sleeps rather than spinning meanwhile.
    func testStoppedRankEndsTheJobAfterTheTimeoutNamingIt() throws {
        let (process, output, errors, ranks) = try startRanks(2, timeout: 6, name: "stopped-rank")
        kill(ranks[1], SIGSTOP)
        let stoppedAt = Date()
        defer { kill(ranks[1], SIGKILL) }
        usleep(1_000_000)
        let cpuBefore = cpuSeconds(ranks[0])
        usleep(3_000_000)
        let waitingCPU = (cpuSeconds(ranks[0]) - cpuBefore) / 3
        while process.isRunning && Date().timeIntervalSince(stoppedAt) < 40 { usleep(50_000) }
        let seconds = Date().timeIntervalSince(stoppedAt)
        let ended = !process.isRunning
        if !ended { process.terminate() }
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(ended, "job still running 40 s after a rank was stopped: \(message)")
        XCTAssertEqual(process.terminationStatus, ExitStatus.collectiveTimeout, message)
        XCTAssertGreaterThanOrEqual(seconds, 6)
        XCTAssertLessThan(seconds, 6 + 30)
        XCTAssertTrue(message.contains("[rank 0] collective timeout: waited 6 s at step "), message)
        XCTAssertTrue(message.contains("rank 1 has not reached step "), message)
        XCTAssertLessThan(waitingCPU, 0.3, "rank 0 used \(waitingCPU) of a core while waiting")
    }

    /// A rank that is slow but alive (stopped for 3 s under a 10 s timeout) does not end the job.
    func testSlowRankWithinTheTimeoutIsWaitedFor() throws {
        let (process, output, errors, ranks) = try startRanks(2, timeout: 10, name: "slow-rank")
        kill(ranks[1], SIGSTOP)
        usleep(3_000_000)
        kill(ranks[1], SIGCONT)
        // The job goes on past the stop (an epoch ends); then it is ended by hand.
        var seen = Data()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("train loss") {
            seen.append(output.fileHandleForReading.availableData)
        }
        let stillRunning = process.isRunning
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stillRunning, "the job ended: \(message)")
        XCTAssertTrue(String(decoding: seen, as: UTF8.self).contains("train loss"), message)
        XCTAssertFalse(message.contains("collective timeout"), message)
    }

    func testRankKilledMidEpochEndsTheJob() throws {
        let (process, output, errors, ranks) = try startRanks(4, timeout: 300, name: "killed-rank")
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
