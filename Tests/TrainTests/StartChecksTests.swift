import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import NN
@testable import Train

/// What a run refuses before it starts, and what it recovers from: NaN weights, --init-from with
/// --resume, a lost `latest` pointer.
final class StartChecksTests: XCTestCase {
    func testNaNWeightsAreRefusedNamingTheTensor() throws {
        let model = try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10)
        model.initializeParameters(seed: 1)
        let poisoned = try XCTUnwrap(model.namedParameters().first { $0.name == "conv1.bias" })
        poisoned.parameter.value.pointer[2] = .nan
        let file = ProcessRunner.temporaryDirectory("nan") + "/nan.safetensors"
        try SafeTensors.encode(tensors: CheckpointFile.stateTensors(of: model), metadata: [:])
            .write(to: URL(fileURLWithPath: file))
        let config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("nan-run"))
        XCTAssertThrowsError(try Trainer(config: config, options: StartOptions(initFrom: file), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("tensor 'conv1.bias' holds NaN or infinite values"), "\($0)")
        }
    }

    func testInitFromWithResumeIsRefused() throws {
        let config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("both"))
        let both = StartOptions(resume: .latest, initFrom: "w.safetensors")
        XCTAssertThrowsError(try Trainer(config: config, options: both, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("give one of them"), "\($0)")
        }
    }

    /// With `latest` deleted, a resume continues from the newest step file that verifies.
    func testALostLatestPointerFallsBackToTheNewestStepFile() throws {
        let directory = ProcessRunner.temporaryDirectory("lost-latest")
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 2)
        config.checkpoint.everySteps = 4
        config.training.maxSteps = 9
        try TrainingLauncher.run(config: config, log: { _ in })
        try FileManager.default.removeItem(atPath: directory + "/checkpoints/latest")
        // The newest file damaged too: the one before it is taken.
        try Data("torn".utf8).write(to: URL(fileURLWithPath: directory + "/checkpoints/step-000000009.safetensors"))
        XCTAssertEqual(try CheckpointStore.latest(inRunDirectory: directory),
                       directory + "/checkpoints/step-000000008.safetensors")
        config.training.maxSteps = nil
        var lines: [String] = []
        try TrainingLauncher.run(config: config, options: StartOptions(resume: .latest), log: { lines.append($0) })
        XCTAssertTrue(lines.contains { $0.contains("step-000000008.safetensors at epoch 1, step 8") }, "\(lines)")
    }
}
