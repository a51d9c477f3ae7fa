import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Train

/// A resume continues the run it resumes: the checkpoint's config unless one is given, changes
/// that alter the numbers refused without --allow-config-change, harmless ones applied with a note.
final class ResumeConfigTests: XCTestCase {
    func testChangesAreSortedIntoHarmlessAndNumberChanging() {
        let saved = TrainingFixtures.smallSynthetic(runDirectory: "/a", epochs: 3)
        var given = saved
        given.training.epochs = 5
        given.logEvery = 7
        given.checkpoint.keepLast = 9
        given.training.batchSize = 32
        given.optimizer.lr = 0.2
        given.runDirectory = "/b"
        let changes = ResumeConfig.changes(saved: saved, given: given)
        XCTAssertEqual(
            changes.map(\.key),
            [
                "training.epochs", "training.batch_size", "optimizer.lr",
                "checkpoint.keep_last", "log_every",
            ])
        XCTAssertEqual(
            changes.filter(\.changesNumbers).map(\.description),
            ["training.batch_size: 64 → 32", "optimizer.lr: 0.05 → 0.2"])
        // A cosine schedule without t_max spans the run: its length sets the rates.
        var cosine = saved
        cosine.lrSchedule.name = .cosine
        var longer = cosine
        longer.training.epochs = 5
        XCTAssertEqual(ResumeConfig.changes(saved: cosine, given: longer).map(\.changesNumbers), [true])
        longer.lrSchedule.tMax = 3
        cosine.lrSchedule.tMax = 3
        XCTAssertEqual(ResumeConfig.changes(saved: cosine, given: longer).map(\.changesNumbers), [false])
    }

    func testResumeWithoutAConfigContinuesTheSavedRun() throws {
        let directory = ProcessRunner.temporaryDirectory("resume-own-config")
        var first = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 320, epochs: 1)
        first.optimizer.lr = 0.02
        try TrainingLauncher.run(config: first, log: { _ in })
        // What `cnn-dist train --resume DIR --epochs 2` passes: the built-in defaults and the flags.
        var overrides = ConfigOverrides()
        overrides.epochs = 2
        var given = TrainConfig()
        try given.apply(overrides, knownModels: Catalog.models)
        var lines: [String] = []
        let history = try TrainingLauncher.run(
            config: given,
            options: StartOptions(resume: .path(directory), configFileGiven: false, overrides: overrides),
            log: { lines.append($0) })
        XCTAssertEqual(history.map(\.epoch), [2])
        XCTAssertEqual(history.first?.learningRate, 0.02)
        XCTAssertTrue(lines.contains("note: resuming with training.epochs: 1 → 2"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("synthetic 320 train") }, "\(lines)")
        let written = try TrainConfig.load(file: directory + "/config.yaml", knownModels: Catalog.models)
        XCTAssertEqual(written.optimizer.lr, 0.02)
        XCTAssertEqual(written.training.epochs, 2)
    }

    /// The saved keep_last governs a resume without a config (the default would delete checkpoints).
    func testResumeWithoutAConfigKeepsTheRunsCheckpoints() throws {
        let directory = ProcessRunner.temporaryDirectory("resume-keep-last")
        var first = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 1)
        first.checkpoint.everySteps = 1
        first.checkpoint.keepLast = 8
        try TrainingLauncher.run(config: first, log: { _ in })
        var overrides = ConfigOverrides()
        overrides.epochs = 2
        var given = TrainConfig()
        try given.apply(overrides, knownModels: Catalog.models)
        try TrainingLauncher.run(config: given, options: StartOptions(resume: .path(directory), configFileGiven: false,
                                                                      overrides: overrides), log: { _ in })
        let steps = try FileManager.default.contentsOfDirectory(atPath: directory + "/checkpoints")
            .filter { $0.hasPrefix("step-") }
        XCTAssertEqual(steps.count, 8, "\(steps.sorted())")
    }

    func testNumberChangingResumeIsRefusedUnlessAllowed() throws {
        let directory = ProcessRunner.temporaryDirectory("resume-changed-config")
        let first = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 1)
        try TrainingLauncher.run(config: first, log: { _ in })
        var changed = first
        changed.training.epochs = 2
        changed.training.batchSize = 32
        changed.training.seed = 9
        XCTAssertThrowsError(
            try TrainingLauncher.run(
                config: changed, options: StartOptions(resume: .latest),
                log: { _ in })
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(
                text.contains("training.batch_size: 64 → 32") && text.contains("training.seed: 5 → 9")
                    && text.contains("--allow-config-change") && !text.contains("training.epochs"), text)
            XCTAssertEqual(ExitStatus.of(error), ExitStatus.inputError)
        }
        var lines: [String] = []
        let history = try TrainingLauncher.run(
            config: changed, options: StartOptions(resume: .latest, allowConfigChange: true),
            log: { lines.append($0) })
        XCTAssertEqual(history.map(\.epoch), [2])
        XCTAssertTrue(
            lines.contains("note: resuming with training.batch_size: 64 → 32 (--allow-config-change)"),
            "\(lines)")
    }
}
