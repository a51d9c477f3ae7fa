import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Train

/// Training across "hosts": Linux network namespaces joined by veth pairs and a bridge
/// (launch/netns-cluster.sh), mpirun over TCP only, entering each namespace as its rsh agent.
/// Skipped, saying why, where namespaces cannot be made (no root, no iproute2).
final class MultiHostTests: XCTestCase {
    let cluster = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("launch/netns-cluster.sh").path

    override func setUpWithError() throws {
        let check = try ProcessRunner.run(cluster, ["check"], timeout: 30)
        try XCTSkipIf(check.status != 0, "multi-host tests need network namespaces: \(check.error)")
    }

    override func tearDownWithError() throws {
        _ = try ProcessRunner.run(cluster, ["down"], timeout: 60)
    }

    func makeHosts(_ count: Int, shaping: [String] = []) throws {
        let up = try ProcessRunner.run(cluster, ["up", String(count)] + shaping, timeout: 60)
        XCTAssertEqual(up.status, 0, up.error)
        if !up.output.isEmpty || !up.error.isEmpty { print("netns-cluster: \(up.output)\(up.error)") }
    }

    /// Two epochs of LeNet-5 on the synthetic set, steps recorded; the config file's path.
    func config(_ directory: String, timeout: Double = 300, checkpointEvery: Int = 0) throws -> String {
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 3200, epochs: 2)
        config.metrics.everySteps = 1
        config.distributed.timeoutSeconds = timeout
        config.checkpoint.everySteps = checkpointEvery
        return try TrainingFixtures.write(config, in: directory)
    }

    func finalDigest(_ directory: String) throws -> String {
        let latest = try String(contentsOfFile: directory + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return try CheckpointFile.load(path: directory + "/checkpoints/" + latest).tensorDigest()
    }

    /// The last epoch's images/s and the mean all-reduce wait per step (ms) of a finished run.
    func figures(_ directory: String) throws -> (imagesPerSecond: Double, waitMilliseconds: Double) {
        let epochs = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let last = try JSONSerialization.jsonObject(with: Data((epochs.last ?? "").utf8)) as? [String: Any]
        let steps = try String(contentsOfFile: directory + "/steps.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let waits = steps.compactMap { $0["allreduce_wait_seconds"] as? Double }
        return (last?["images_per_sec"] as? Double ?? 0, 1000 * waits.reduce(0, +) / Double(max(waits.count, 1)))
    }

    /// Trains on two hosts (one rank each) and on this host (two ranks); both must end bitwise
    /// equal. Returns the figures of the two runs.
    func compareWithOneHost(_ label: String) throws -> (hosts: (Double, Double), local: (Double, Double)) {
        let across = ProcessRunner.temporaryDirectory("multihost-\(label)")
        let local = ProcessRunner.temporaryDirectory("onehost-\(label)")
        let binary = ProcessRunner.product("cnn-dist")
        let hosts = try ProcessRunner.run(
            cluster, ["mpirun", "1", binary, "train", "--config", try config(across)],
            timeout: 300)
        XCTAssertEqual(hosts.status, 0, hosts.error)
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath)
        let single = try ProcessRunner.run(
            mpirun,
            ProcessRunner.mpirunArguments(ranks: 2) + [
                binary, "train",
                "--config", try config(local),
            ],
            timeout: 300)
        XCTAssertEqual(single.status, 0, single.error)
        XCTAssertEqual(try finalDigest(across), try finalDigest(local), "training across hosts must equal one host's")
        let (a, b) = (try figures(across), try figures(local))
        print(
            "multi-host \(label): two hosts \(Int(a.imagesPerSecond)) img/s, all-reduce wait "
                + String(
                    format: "%.2f ms/step; one host (shared memory) %d img/s, wait %.2f ms/step",
                    a.waitMilliseconds, Int(b.imagesPerSecond), b.waitMilliseconds))
        return ((a.imagesPerSecond, a.waitMilliseconds), (b.imagesPerSecond, b.waitMilliseconds))
    }

    func testTrainingAcrossHostsEqualsOneHostBitwise() throws {
        try makeHosts(2)
        _ = try compareWithOneHost("plain")
    }

    /// Links shaped as a datacenter's (10 Gbit/s, 100 µs where the kernel has netem): the same
    /// numbers, and the scaling and all-reduce wait reported.
    func testShapedLinksTrainAlikeAndReportTheirCost() throws {
        try makeHosts(2, shaping: ["--rate", "10gbit", "--delay", "100us"])
        let figures = try compareWithOneHost("shaped")
        XCTAssertGreaterThan(figures.hosts.0, 0)
    }

    /// A link cut mid-run: the job ends within timeout_s + 30 s naming the unreachable rank, and
    /// the run resumes on the remaining host (fewer ranks) from its last checkpoint.
    func testALinkCutEndsTheJobAndTheRunResumesOnTheRemainingHost() throws {
        try makeHosts(2)
        let directory = ProcessRunner.temporaryDirectory("multihost-cut")
        let file = try config(directory, timeout: 5, checkpointEvery: 10)
        let binary = ProcessRunner.product("cnn-dist")
        let job = Process()
        job.executableURL = URL(fileURLWithPath: cluster)
        job.arguments = ["mpirun", "1", binary, "train", "--config", file]
        let output = Pipe()
        job.standardOutput = output
        job.standardError = output
        try job.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("step-000000020") {
            seen.append(output.fileHandleForReading.availableData)
        }
        XCTAssertEqual(try ProcessRunner.run(cluster, ["cut", "1"], timeout: 30).status, 0)
        let cutAt = Date()
        while job.isRunning && Date().timeIntervalSince(cutAt) < 5 + 30 + 10 { usleep(100_000) }
        let seconds = Date().timeIntervalSince(cutAt)
        let ended = !job.isRunning
        if !ended { job.terminate() }
        seen.append(output.fileHandleForReading.readDataToEndOfFile())
        job.waitUntilExit()
        let text = String(decoding: seen, as: UTF8.self)
        print(
            "multi-host link cut: the job ended \(String(format: "%.1f", seconds)) s after the cut, status "
                + "\(job.terminationStatus)")
        XCTAssertTrue(ended, "still running \(Int(seconds)) s after the cut: \(text)")
        XCTAssertLessThan(seconds, 5 + 30)
        XCTAssertNotEqual(job.terminationStatus, 0)
        XCTAssertTrue(text.contains("rank 1 has not reached step") && text.contains("it does not answer"), text)
        // The remaining host alone (one rank, no mpirun) continues from the last checkpoint.
        let resumed = try ProcessRunner.run(
            cluster, ["exec", "0", binary, "train", "--config", file, "--resume"],
            timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("resumed from \(directory)/checkpoints/step-"), resumed.output)
        XCTAssertTrue(resumed.error.contains("checkpoint was written by 2 rank(s), resuming on 1"), resumed.error)
        let epochs = try String(contentsOfFile: directory + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(epochs.count, 2)
    }
}
