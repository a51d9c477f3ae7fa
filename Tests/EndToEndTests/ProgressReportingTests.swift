import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Train

/// Console output of a run: plain progress lines at `log_every` when not on a terminal,
/// the live terminal line, log levels and --quiet.
final class ProgressReportingTests: XCTestCase {
    /// 640 samples, batch 64: 10 steps per epoch.
    func config(_ directory: String, epochs: Int = 2, logEvery: Int = 4) -> TrainConfig {
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: epochs)
        config.logEvery = logEvery
        return config
    }

    func testPlainProgressLinesEveryLogEverySteps() throws {
        let directory = ProcessRunner.temporaryDirectory("progress-plain")
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config(directory), logger: Logger(level: .info, lines: { lines.append($0) }))
        let progress = lines.filter { $0.hasPrefix("  epoch ") }
        // Global steps 4, 8 | 12, 16, 20: the interval counts optimizer steps across epochs.
        XCTAssertEqual(progress.map { $0.components(separatedBy: "  loss")[0] },
                       ["  epoch 1/2  step 4/10", "  epoch 1/2  step 8/10", "  epoch 2/2  step 2/10",
                        "  epoch 2/2  step 6/10", "  epoch 2/2  step 10/10"], "\(lines)")
        let pattern = try NSRegularExpression(
            pattern: #"^  epoch \d/2  step \d+/10  loss \d+\.\d{4}  acc \d+\.\d{2}%  \d+ img/s  ETA \d+:\d{2}$"#)
        for line in progress {
            XCTAssertNotNil(pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
        // At an epoch's last step the running means are the epoch's figures.
        XCTAssertTrue(progress[4].contains(String(format: "loss %.4f  acc %.2f%%", history[1].trainLoss,
                                                  100 * history[1].trainAccuracy)), progress[4])
        // Each epoch's summary follows its progress lines.
        XCTAssertEqual(lines.filter { $0.hasPrefix("epoch ") }.count, 2)
        let summary = lines.firstIndex { $0.hasPrefix("epoch 1/2  train loss") }!
        XCTAssertTrue(lines[summary - 1].hasPrefix("  epoch 1/2  step 8/10"), "\(lines)")
    }

    func testLogEveryZeroPrintsEpochLinesOnly() throws {
        let directory = ProcessRunner.temporaryDirectory("progress-off")
        var lines: [String] = []
        try TrainingLauncher.run(config: config(directory, logEvery: 0), logger: Logger(level: .info, lines: { lines.append($0) }))
        XCTAssertEqual(lines.filter { $0.hasPrefix("  epoch ") }, [])
        XCTAssertEqual(lines.filter { $0.hasPrefix("epoch ") }.count, 2)
    }

    func testErrorLevelPrintsNothingWithoutErrors() throws {
        let directory = ProcessRunner.temporaryDirectory("progress-quiet")
        var lines: [String] = []
        try TrainingLauncher.run(config: config(directory), logger: Logger(level: .error, lines: { lines.append($0) }))
        XCTAssertEqual(lines, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/metrics.jsonl"), "quiet runs still write metrics")
    }

    func testQuietCommandLinePrintsOnlyErrors() throws {
        let directory = ProcessRunner.temporaryDirectory("progress-quiet-cli")
        let file = try TrainingFixtures.write(config(directory + "/run", epochs: 1), in: directory)
        let quiet = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["train", "--config", file, "--quiet"], timeout: 120)
        XCTAssertEqual(quiet.status, 0, quiet.error)
        XCTAssertEqual(quiet.output, "")
        XCTAssertEqual(quiet.error, "")
        // An error still shows: the run directory now holds checkpoints.
        let again = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["train", "--config", file, "--quiet"], timeout: 120)
        XCTAssertEqual(again.status, 1)  // run-folder trouble: a supervisor may try again
        XCTAssertEqual(again.output, "")
        XCTAssertTrue(again.error.hasPrefix("error: run directory"), again.error)
        let bad = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["train", "--log-level", "loud"], timeout: 60)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.error.contains("--log-level must be error, warning, info or debug, got 'loud'"), bad.error)
    }

    func testDebugLevelShowsEachStepsAllReduceWait() throws {
        let directory = ProcessRunner.temporaryDirectory("progress-debug")
        let lines = LockedLines()
        try TrainingLauncher.run(config: config(directory, epochs: 1), workers: 2,
                                 logger: Logger(level: .debug, lines: lines.append))
        let waits = lines.lines.filter { $0.contains("all-reduce wait") }
        XCTAssertEqual(waits.count, 10, "\(lines.lines)")
        let pattern = try NSRegularExpression(pattern: #"^step (\d+)  all-reduce wait \d+\.\d{3} ms$"#)
        for (index, line) in waits.enumerated() {
            let match = pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line))
            XCTAssertNotNil(match, line)
            if let match { XCTAssertEqual(Int((line as NSString).substring(with: match.range(at: 1))), index + 1) }
        }
        // Not at info level.
        var info: [String] = []
        try TrainingLauncher.run(config: config(directory + "/info", epochs: 1), workers: 2,
                                 logger: Logger(level: .info, lines: { info.append($0) }))
        XCTAssertFalse(info.contains { $0.contains("all-reduce wait") })
    }

    func testTerminalLineRewritesInPlace() {
        let line = ProgressLine(epoch: 3, epochs: 20, step: 50, steps: 125, loss: 0.12346, accuracy: 0.9609,
                                imagesPerSecond: 7518.4, etaSeconds: 1.2)
        XCTAssertEqual(line.terminalText,
                       "\r\u{1B}[2Kepoch 3/20 [=======>............]  50/125  loss 0.1235  acc 96.09%  7518 img/s  ETA 0:01")
        XCTAssertEqual(line.plainText, "  epoch 3/20  step 50/125  loss 0.1235  acc 96.09%  7518 img/s  ETA 0:01")
        XCTAssertEqual(ProgressLine.bar(0, of: 10, width: 10), "[..........]")
        XCTAssertEqual(ProgressLine.bar(1, of: 100, width: 10), "[>.........]")
        XCTAssertEqual(ProgressLine.bar(5, of: 10, width: 10), "[====>.....]")
        XCTAssertEqual(ProgressLine.bar(10, of: 10, width: 10), "[==========]")
        XCTAssertEqual(ProgressLine.duration(59.6), "1:00")
        XCTAssertEqual(ProgressLine.duration(3725), "1:02:05")
        XCTAssertEqual(ProgressLine.duration(.nan), "?")

        // A message after live lines clears the live line first and ends with a newline.
        var written: [String] = []
        let logger = Logger(level: .info, isTerminal: true) { _, text in written.append(text) }
        logger.status("a")
        logger.status("b")
        logger.info("epoch done")
        logger.info("next")
        logger.endLiveLine()
        logger.status("c")
        logger.endLiveLine()
        XCTAssertEqual(written, ["\r\u{1B}[2Ka", "\r\u{1B}[2Kb", "\r\u{1B}[2Kepoch done\n", "next\n", "\r\u{1B}[2Kc", "\n"])
        // No live line off a terminal or below info level.
        let plain = Logger(level: .info, isTerminal: false) { _, text in written.append(text) }
        plain.status("x")
        Logger(level: .warning, isTerminal: true) { _, text in written.append(text) }.status("y")
        XCTAssertEqual(written.count, 6)
    }

    /// The live line fits the terminal: fields go in a set order as it narrows, and nothing is
    /// ever wider than the width less one (a full last column wraps on some terminals).
    func testLiveLineFitsTheTerminalWidth() {
        let line = ProgressLine(epoch: 3, epochs: 20, step: 50, steps: 125, loss: 0.12346, accuracy: 0.9609,
                                imagesPerSecond: 7518.4, etaSeconds: 1.2, runEtaSeconds: 3725)
        XCTAssertEqual(line.fitted(width: 160), "epoch 3/20 [=======>............]  50/125  loss 0.1235  acc 96.09%  "
                           + "7518 img/s  ETA 0:01  run 1:02:05")
        XCTAssertEqual(line.fitted(width: 100),
                       "epoch 3/20 [===>......]  50/125  loss 0.1235  acc 96.09%  7518 img/s  ETA 0:01  run 1:02:05")
        XCTAssertEqual(line.fitted(width: 80),
                       "epoch 3/20 [===>......]  50/125  loss 0.1235  acc 96.09%  ETA 0:01  run 1:02:05")
        XCTAssertEqual(line.fitted(width: 70), "epoch 3/20 [===>......]  50/125  loss 0.1235  acc 96.09%  ETA 0:01")
        XCTAssertEqual(line.fitted(width: 60), "epoch 3/20  50/125  loss 0.1235  acc 96.09%  ETA 0:01")
        XCTAssertEqual(line.fitted(width: 45), "epoch 3/20  50/125  loss 0.1235  ETA 0:01")
        XCTAssertEqual(line.fitted(width: 40), "epoch 3/20  50/125  loss 0.1235")
        XCTAssertEqual(line.fitted(width: 20), "epoch 3/20  50/125 ")
        for width in 1...200 { XCTAssertLessThan(line.fitted(width: width).count, max(width, 2), "width \(width)") }
        XCTAssertEqual(ProgressLine.validation(epoch: 3, epochs: 20, batch: 12, batches: 40, width: 80),
                       "epoch 3/20 validating [=====>..............]  12/40")
        XCTAssertEqual(ProgressLine.validation(epoch: 3, epochs: 20, batch: 12, batches: 40, width: 30),
                       "validating 12/40")

        // A line drawn before the window narrowed spans rows: they are cleared too.
        var written: [String] = []
        var width = 100
        let logger = Logger(level: .info, isTerminal: true, terminalWidth: { width }) { _, text in
            written.append(text)
        }
        logger.status { line.fitted(width: $0) }
        width = 40
        logger.status { line.fitted(width: $0) }
        let up = "\r\u{1B}[2K\u{1B}[1A"
        XCTAssertEqual(written.last, up + up + "\r\u{1B}[2Kepoch 3/20  50/125  loss 0.1235",
                       "the 91-column line covered three 40-column rows")
    }

    /// The end of a run says where things are and how to go on; a stopped run, how to resume.
    func testRunSummaryNamesModelsAndCommands() throws {
        let directory = ProcessRunner.temporaryDirectory("summary")
        var config = config(directory, epochs: 2)
        config.validation.monitor = .validationAccuracy
        var lines: [String] = []
        let history = try TrainingLauncher.run(config: config, workers: 2, logger: Logger(level: .info, lines: {
            lines.append($0)
        }))
        let best = history.indices.max { history[$0].validationAccuracy < history[$1].validationAccuracy } ?? 0
        let executable = CommandLine.arguments[0]
        XCTAssertEqual(Array(lines.suffix(7)), [
            "finished at step 20: 2 epoch(s) done",
            String(format: "  best epoch:  val_accuracy %.2f%% at epoch %d", 100 * history[best].validationAccuracy,
                   best + 1),
            "  best model:  \(directory)/checkpoints/best.safetensors (saved whenever val_accuracy improved)",
            "  final model: \(directory)/model.safetensors",
            "  evaluate:    \(executable) evaluate --checkpoint \(directory)",
            "  plot:        \(executable) plot \(directory)",
            "  train on:    \(executable) train --resume \(directory) --workers 2 --set training.epochs=N",
        ])
        let stopped = RunSummary(runDirectory: "runs/x/version_3", outcome: .signalled, step: 412, epoch: 3,
                                 batchInEpoch: 37, batchesPerEpoch: 125, epochs: 10, monitor: .validationLoss,
                                 records: [], command: "mpirun -n 4 cnn-dist", workersOption: "")
        XCTAssertEqual(stopped.lines, ["stopped at step 412 (epoch 4/10, batch 37 of 125); checkpoint saved",
                                       "continue with: mpirun -n 4 cnn-dist train --resume runs/x/version_3"])
        var capped = stopped
        (capped.outcome, capped.runDirectory) = (.maxSteps, "runs/my run")
        XCTAssertEqual(capped.lines.last, "  train on:    mpirun -n 4 cnn-dist train --resume 'runs/my run' "
            + "--set training.max_steps=N", "max_steps is in the run's config: epochs alone would not go on")
    }

    func testLevelsFilterMessages() {
        var written: [String] = []
        let logger = Logger(level: .warning, lines: { written.append($0) })
        logger.debug("d")
        logger.info("i")
        logger.warning("w")
        logger.error("e")
        XCTAssertEqual(written, ["w", "e"])
        XCTAssertEqual(Logger.Level(name: "DEBUG"), .debug)
        XCTAssertNil(Logger.Level(name: "verbose"))
    }
}
