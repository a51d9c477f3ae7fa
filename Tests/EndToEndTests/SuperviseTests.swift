import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Train

/// launch/supervise.sh, the restart policy: restarts on failures a restart can get past, with
/// --resume once a checkpoint exists, stops on input errors, gives up after N restarts, and
/// leaves out hosts that do not answer.
final class SuperviseTests: XCTestCase {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("launch/supervise.sh").path

    /// A stand-in job: attempt k exits with statuses[k], logs its arguments, and says it saved a
    /// checkpoint from attempt `savesFrom` on.
    func fakeJob(_ directory: String, statuses: [Int32], savesFrom: Int = 0) throws -> String {
        let path = directory + "/job.sh"
        try """
        #!/usr/bin/env bash
        n=$(cat \(directory)/count 2>/dev/null || echo 0)
        echo $((n + 1)) > \(directory)/count
        echo "$*" >> \(directory)/arguments
        statuses=(\(statuses.map(String.init).joined(separator: " ")))
        [ "$n" -ge \(savesFrom) ] && echo "checkpoint: runs/x/checkpoints/step-000000004.safetensors"
        exit ${statuses[$n]}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func arguments(_ directory: String) throws -> [String] {
        try String(contentsOfFile: directory + "/arguments", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func testRestartsUntilSuccessResumingOnceACheckpointExists() throws {
        let directory = ProcessRunner.temporaryDirectory("supervise-restarts")
        let job = try fakeJob(directory, statuses: [1, 3, 137, 0], savesFrom: 1)
        let result = try ProcessRunner.run(
            script, ["--delay", "0", "--", job, "train", "--config", "c.yaml"],
            timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        // The first attempt saved nothing, so the second starts again; from then on it resumes.
        XCTAssertEqual(
            try arguments(directory),
            [
                "train --config c.yaml", "train --config c.yaml",
                "train --config c.yaml --resume", "train --config c.yaml --resume",
            ])
        XCTAssertTrue(result.error.contains("restarting from the start (no checkpoint saved yet)"), result.error)
        XCTAssertTrue(result.error.contains("status 3; restarting from the latest checkpoint"), result.error)
    }

    func testAnInputErrorIsNotRestarted() throws {
        let directory = ProcessRunner.temporaryDirectory("supervise-input-error")
        let job = try fakeJob(directory, statuses: [ExitStatus.inputError, 0])
        let result = try ProcessRunner.run(script, ["--delay", "0", "--", job, "train"], timeout: 60)
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(try arguments(directory).count, 1)
        XCTAssertTrue(result.error.contains("the input is wrong"), result.error)
    }

    func testGivesUpAfterMaxRestarts() throws {
        let directory = ProcessRunner.temporaryDirectory("supervise-give-up")
        let job = try fakeJob(directory, statuses: [1, 1, 1, 0])
        let result = try ProcessRunner.run(script, ["--max-restarts", "2", "--delay", "0", "--", job, "train"],
                                           timeout: 60)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(try arguments(directory).count, 3)
        XCTAssertTrue(result.error.contains("giving up after 3 attempt(s); last status 1"), result.error)
    }

    func testHostsThatDoNotAnswerAreLeftOut() throws {
        let directory = ProcessRunner.temporaryDirectory("supervise-hosts")
        let hostfile = directory + "/hosts"
        try "# cluster\nnode1 slots=4\nnode2\nnode3\n".write(toFile: hostfile, atomically: true, encoding: .utf8)
        // A stand-in mpirun on PATH records its arguments and the hostfile it was given.
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try """
        #!/usr/bin/env bash
        echo "$*" > \(directory)/mpirun-arguments
        while [ "$1" != --hostfile ]; do shift; done
        cp "$2" \(directory)/live-hosts
        """.write(toFile: bin + "/mpirun", atomically: true, encoding: .utf8)
        chmod(bin + "/mpirun", 0o755)
        let result = try ProcessRunner.run(
            script,
            [
                "--hostfile", hostfile, "--ranks-per-host", "2", "--check-host", "[ {} != node2 ]", "--",
                "cnn-dist", "train",
            ],
            timeout: 60, environment: ["PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "")])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(
            try String(contentsOfFile: directory + "/live-hosts", encoding: .utf8),
            "node1 slots=2\nnode3 slots=2\n")
        let arguments = try String(contentsOfFile: directory + "/mpirun-arguments", encoding: .utf8)
        XCTAssertTrue(arguments.contains("-n 4 cnn-dist train"), arguments)
        XCTAssertTrue(result.error.contains("host node2 does not answer; leaving it out"), result.error)
    }

    /// A signal to the supervisor is a deliberate stop: passed to the job, and no restart.
    func testASignalStopsWithoutRestarting() throws {
        let directory = ProcessRunner.temporaryDirectory("supervise-signal")
        let job = directory + "/job.sh"
        try """
            #!/usr/bin/env bash
            echo started >> \(directory)/attempts
            trap 'kill $! 2>/dev/null; echo stopped >> \(directory)/attempts; exit 1' TERM
            sleep 30 & wait
            """.write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: script)
        supervisor.arguments = ["--delay", "0", "--", job]
        let errors = Pipe()
        supervisor.standardError = errors
        supervisor.standardOutput = FileHandle.nullDevice
        try supervisor.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, !FileManager.default.fileExists(atPath: directory + "/attempts") { usleep(20_000) }
        supervisor.terminate()
        supervisor.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(try String(contentsOfFile: directory + "/attempts", encoding: .utf8), "started\nstopped\n")
        XCTAssertTrue(text.contains("stopped by a signal (job status 1); not restarting"), text)
        XCTAssertEqual(supervisor.terminationStatus, 1)
    }

    /// The whole loop for real: a rank stopped mid-run ends the job by the watchdog (status 3);
    /// supervise.sh resumes it from the latest checkpoint, and it finishes every epoch.
    func testAStalledJobIsResumedAndFinishes() throws {
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found (launch/prerequisites.sh)")
        let directory = ProcessRunner.temporaryDirectory("supervise-real")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 3200, epochs: 4)
        config.distributed.timeoutSeconds = 4
        config.checkpoint.everySteps = 10
        config.logEvery = 5
        let file = try TrainingFixtures.write(config, in: directory)
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: script)
        supervisor.arguments =
            ["--max-restarts", "1", "--delay", "0", "--", mpirun]
            + ProcessRunner.mpirunArguments(ranks: 2) + [ProcessRunner.product("cnn-dist"), "train", "--config", file]
        let output = Pipe()
        supervisor.standardOutput = output
        supervisor.standardError = output
        try supervisor.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("step-000000020") {
            seen.append(output.fileHandleForReading.availableData)
        }
        let launcher = try ProcessRunner.run("/usr/bin/pgrep", ["-P", String(supervisor.processIdentifier), "mpirun"])
            .output.split(separator: "\n").compactMap { Int32($0) }
        let ranks = try ProcessRunner.run("/usr/bin/pgrep", ["-P", String(launcher.first ?? -1), "cnn-dist"])
            .output.split(separator: "\n").compactMap { Int32($0) }
        XCTAssertEqual(ranks.count, 2, "ranks of the first attempt")
        if let rank = ranks.last { kill(rank, SIGSTOP) }
        seen.append(output.fileHandleForReading.readDataToEndOfFile())
        supervisor.waitUntilExit()
        let text = String(decoding: seen, as: UTF8.self)
        XCTAssertEqual(supervisor.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("collective timeout"), text)
        XCTAssertTrue(text.contains("status 3; restarting from the latest checkpoint"), text)
        XCTAssertTrue(text.contains("resumed from \(directory)/checkpoints/step-"), text)
        let epochs = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8)
            .split(separator: "\n").count
        XCTAssertEqual(epochs, 4)
    }
}
