import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Distributed
@testable import NN
@testable import TensorCore
@testable import Train

/// A run survives what ends runs on clusters: pre-emption (SIGTERM), a rank killed outright,
/// a kill in the middle of writing a checkpoint, and a loss that turns NaN. Each time the
/// checkpoints on disk stay valid and finite, and resuming reaches exactly the parameters
/// of a run never interrupted.
final class FaultToleranceTests: XCTestCase {
    var binary: String { ProcessRunner.product("cnn-dist") }

    /// 100 steps per epoch, a checkpoint every 10 steps, log lines every 5.
    func writeConfig(_ directory: String, epochs: Int = 2, everySteps: Int = 10,
                     change: (inout TrainConfig) -> Void = { _ in }) throws -> String {
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory + "/run", trainSamples: 6_400, epochs: epochs)
        config.checkpoint.everySteps = everySteps
        config.logEvery = 5
        change(&config)
        return try TrainingFixtures.write(config, in: directory)
    }

    func latestDigest(_ runDirectory: String) throws -> (name: String, digest: String) {
        let name = try String(contentsOfFile: runDirectory + "/checkpoints/latest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return (name, try CheckpointFile.load(path: runDirectory + "/checkpoints/" + name).tensorDigest())
    }

    /// Every checkpoint file in the run verifies (temporary files of an interrupted write aside).
    func assertAllCheckpointsValid(_ runDirectory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: runDirectory + "/checkpoints")
        for name in names where name.hasSuffix(".safetensors") && !name.hasPrefix(".") {
            let (status, message) = CheckpointReport.verify(path: runDirectory + "/checkpoints/" + name)
            XCTAssertEqual(status, 0, message, file: file, line: line)
        }
    }

    func testSIGTERMSavesExitsZeroAndResumesExactly() throws {
        let whole = ProcessRunner.temporaryDirectory("sigterm-whole"), parts = ProcessRunner.temporaryDirectory("sigterm-parts")
        let reference = try ProcessRunner.run(binary, ["train", "--config", try writeConfig(whole)], timeout: 120)
        XCTAssertEqual(reference.status, 0, reference.error)

        let job = try BackgroundProcess(binary, ["train", "--config", try writeConfig(parts)])
        XCTAssertTrue(job.waitForOutput(containing: "epoch 1/2  step 25/", timeout: 60), job.output + job.error)
        job.signal(SIGTERM)
        XCTAssertTrue(job.waitForExit(timeout: 30))
        XCTAssertEqual(job.status, 0, job.error)
        let stop = try XCTUnwrap(job.output.split(separator: "\n").first { $0.hasPrefix("stop requested (SIGTERM/SIGINT): saving at step ") })
        let step = try XCTUnwrap(Int(stop.split(separator: " ").last!))
        XCTAssertTrue((25..<200).contains(step), String(stop))
        XCTAssertEqual(try latestDigest(parts + "/run").name, String(format: "step-%09d.safetensors", step))

        let resumed = try ProcessRunner.run(binary, ["train", "--config", parts + "/config.input.yaml", "--resume"], timeout: 120)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("resumed from \(parts)/run/checkpoints/step-"), resumed.output)
        XCTAssertEqual(try latestDigest(parts + "/run").digest, try latestDigest(whole + "/run").digest)
    }

    /// The issue's acceptance scenario: 4 MPI ranks, one SIGKILLed mid-epoch; the job ends
    /// non-zero within 30 s, the last checkpoint is intact, and resuming on 4 ranks ends
    /// with the tensors of an uninterrupted 4-rank run, bit for bit. Also: SIGTERM sent to
    /// the ranks (as Slurm does) saves and exits 0.
    func testRankKilledUnderMPIResumesExactly() throws {
        guard let mpirun = ProcessRunner.mpirunPath else { return XCTFail("mpirun not found (launch/prerequisites.sh)") }
        let mpi = ProcessRunner.mpirunArguments(ranks: 4)
        let whole = ProcessRunner.temporaryDirectory("kill-whole"), parts = ProcessRunner.temporaryDirectory("kill-parts")
        let reference = try ProcessRunner.run(mpirun, mpi + [binary, "train", "--config", try writeConfig(whole, epochs: 3)],
                                              timeout: 200)
        XCTAssertEqual(reference.status, 0, reference.error)

        let config = try writeConfig(parts, epochs: 3)
        let job = try BackgroundProcess(mpirun, mpi + [binary, "train", "--config", config])
        XCTAssertTrue(job.waitForOutput(containing: "epoch 2/3  step 45/", timeout: 60), job.output + job.error)
        let ranks = job.children()
        XCTAssertEqual(ranks.count, 4, "rank processes: \(ranks)")
        let killedAt = Date()
        kill(ranks[2], SIGKILL)
        XCTAssertTrue(job.waitForExit(timeout: 30), "job still running 30 s after a rank was killed")
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 30)
        XCTAssertNotEqual(job.status, 0)
        try assertAllCheckpointsValid(parts + "/run")
        let killed = try latestDigest(parts + "/run")
        XCTAssertGreaterThanOrEqual(killed.name, "step-000000140.safetensors")

        // Resume; stop it again with SIGTERM to the ranks; resume to the end.
        let second = try BackgroundProcess(mpirun, mpi + [binary, "train", "--config", config, "--resume"])
        XCTAssertTrue(second.waitForOutput(containing: "epoch 3/3  step 5/", timeout: 60), second.output + second.error)
        XCTAssertTrue(second.output.contains("resumed from \(parts)/run/checkpoints/\(killed.name)"), second.output)
        for rank in second.children() { kill(rank, SIGTERM) }
        XCTAssertTrue(second.waitForExit(timeout: 30))
        XCTAssertEqual(second.status, 0, second.error)
        XCTAssertTrue(second.output.contains("replicas verified identical on all 4 ranks"), second.output)

        let third = try ProcessRunner.run(mpirun, mpi + [binary, "train", "--config", config, "--resume"], timeout: 200)
        XCTAssertEqual(third.status, 0, third.error)
        XCTAssertEqual(try latestDigest(parts + "/run").name, "step-000000300.safetensors")
        XCTAssertEqual(try latestDigest(parts + "/run").digest, try latestDigest(whole + "/run").digest)
        // metrics.jsonl has each epoch once, across the three sessions.
        let epochs = try String(contentsOfFile: parts + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["epoch"] as? Int }
        XCTAssertEqual(epochs, [1, 2, 3])
    }

    /// SIGKILL while checkpoints are being written (one per step): whatever moment the kill
    /// lands, `latest` names a valid checkpoint and every checkpoint file verifies.
    func testKillWhileWritingCheckpointsLeavesTheLastOneValid() throws {
        let directory = ProcessRunner.temporaryDirectory("kill-write")
        let config = try writeConfig(directory, epochs: 1, everySteps: 1) { $0.checkpoint.keepLast = 2 }
        var steps: [String] = []
        for (attempt, delay) in [0.45, 0.6, 0.75].enumerated() {
            let job = try BackgroundProcess(binary, ["train", "--config", config] + (attempt == 0 ? [] : ["--resume"]))
            XCTAssertTrue(job.waitForOutput(containing: "checkpoint: ", timeout: 60), job.output + job.error)
            usleep(useconds_t(delay * 100_000))
            job.signal(SIGKILL)
            XCTAssertTrue(job.waitForExit(timeout: 10))
            try assertAllCheckpointsValid(directory + "/run")
            steps.append(try latestDigest(directory + "/run").name)
        }
        XCTAssertEqual(steps, steps.sorted(), "each resumed session got further")
        // The leftovers of a torn write are hidden temporary files; resuming finishes the run.
        let finish = try ProcessRunner.run(binary, ["train", "--config", config, "--resume"], timeout: 120)
        XCTAssertEqual(finish.status, 0, finish.error)
        XCTAssertEqual(try latestDigest(directory + "/run").name, "step-000000100.safetensors")
    }

    func testDivergingRunStopsWithoutSavingNaN() throws {
        let directory = ProcessRunner.temporaryDirectory("diverge")
        let config = try writeConfig(directory, epochs: 1, everySteps: 1) { $0.optimizer.lr = 1e30 }
        let result = try ProcessRunner.run(binary, ["train", "--config", config], timeout: 120)
        XCTAssertEqual(result.status, 2)  // an input error: running again would not help
        XCTAssertNotNil(result.error.range(of: #"^error: (training loss became (NaN|\+Inf|-Inf) at epoch 1, step \d+|parameter '[a-z0-9.]+' holds NaN or Inf after step \d+)"#,
                                           options: .regularExpression), result.error)
        XCTAssertTrue(result.error.contains("lower the learning rate"), result.error)
        try assertAllCheckpointsValid(directory + "/run")
        for name in try FileManager.default.contentsOfDirectory(atPath: directory + "/run/checkpoints") where name.hasPrefix("step-") {
            let file = try SafeTensors.read(path: directory + "/run/checkpoints/" + name)
            XCTAssertTrue(file.tensors.allSatisfy { $0.values.allSatisfy(\.isFinite) }, "\(name) holds non-finite values")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/run/model.safetensors"))
    }

    /// `training.on_nonfinite`: one rank's NaN loss at step 3 stops every rank (default) or
    /// makes every rank skip that step, leaving parameters and momentum as they were.
    func testNonFiniteLossOnOneRankStopsOrSkipsOnAllRanks() throws {
        for mode in NonFiniteLossAction.allCases {
            let directory = ProcessRunner.temporaryDirectory("nonfinite-\(mode)")
            var settings = TrainingFixtures.smallSynthetic(runDirectory: directory)
            settings.checkpoint.everySteps = 1
            settings.checkpoint.keepLast = 10
            settings.training.onNonFinite = mode
            settings.training.maxSteps = 5
            let config = settings
            let group = try InProcessCommunicator.makeGroup(size: 2)
            let outcomes = RankResults<String>(ranks: 2, initial: "(no result)")
            let done = DispatchGroup()
            let log = LockedLines()
            for communicator in group {
                done.enter()
                Thread.detachNewThread {
                    do {
                        // Rank 1's third step reports a NaN loss, as a diverging replica would.
                        let loss: ClassificationLoss = communicator.rank == 1 ? NaNLossOnCall(3) : SoftmaxCrossEntropy()
                        let trainer = try Trainer(config: config, communicator: communicator, loss: loss, log: log.append)
                        try trainer.run()
                        outcomes.store("finished at step \(trainer.progress.globalStep)", rank: communicator.rank)
                    } catch {
                        outcomes.store("\(error)", rank: communicator.rank)
                    }
                    done.leave()
                }
            }
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
            let checkpoints = directory + "/checkpoints/"
            if mode == .stop {
                let message = "training loss became non-finite on another rank at epoch 1, step 3; stopped without saving"
                XCTAssertTrue(outcomes.value(rank: 0).hasPrefix(message), outcomes.value(rank: 0))
                XCTAssertTrue(outcomes.value(rank: 1).hasPrefix("training loss became NaN at epoch 1, step 3"), outcomes.value(rank: 1))
                XCTAssertEqual(try latestDigest(directory).name, "step-000000002.safetensors")
            } else {
                XCTAssertEqual(outcomes.value(rank: 0), "finished at step 5")
                XCTAssertEqual(outcomes.value(rank: 1), "finished at step 5")
                XCTAssertTrue(log.lines.contains("step 3: non-finite loss on some rank; step skipped (training.on_nonfinite: skip)"),
                              "\(log.lines)")
                let digest = { (step: Int) in try CheckpointFile.load(path: checkpoints + String(format: "step-%09d.safetensors", step)).tensorDigest() }
                XCTAssertEqual(try digest(3), try digest(2), "a skipped step changes neither weights nor momentum")
                XCTAssertNotEqual(try digest(4), try digest(3))
            }
        }
    }
}

/// Cross-entropy whose `call`-th forward reports a NaN loss sum: a diverging rank without a diverging run.
final class NaNLossOnCall: ClassificationLoss {
    private let crossEntropy = SoftmaxCrossEntropy()
    private let call: Int
    private var calls = 0

    init(_ call: Int) { self.call = call }

    var gradient: Tensor { crossEntropy.gradient }

    func forward(logits: Tensor, labels: [Int32], gradientScale: Float?) -> SoftmaxCrossEntropy.Result {
        calls += 1
        var result = crossEntropy.forward(logits: logits, labels: labels, gradientScale: gradientScale)
        if calls == call { result.lossSum = .nan }
        return result
    }
}
