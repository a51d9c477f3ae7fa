import Foundation
import Reports
import TestSupport
import TrainingFixtures
import XCTest

@testable import Checkpoint
@testable import Configuration
@testable import Datasets
@testable import Distributed
@testable import Train

/// `training.micro_batches`: the same optimizer steps as the whole batch, within rounding.
final class GradientAccumulationTests: XCTestCase {
    /// Trains LeNet-5 (no BatchNorm, no dropout: micro-batches change nothing but the order of sums)
    /// and returns the final weights and the epoch metrics.
    private func train(microBatches: Int, workers: Int? = nil, _ name: String) throws
        -> (weights: SafeTensors.File, history: [EpochMetrics])
    {
        let directory = ProcessRunner.temporaryDirectory(name)
        var config = TrainingFixtures.smallSynthetic(runDirectory: directory, trainSamples: 640, epochs: 2)
        config.training.microBatches = microBatches
        let history = try TrainingLauncher.run(config: config, workers: workers, log: { _ in })
        return (try SafeTensors.read(path: directory + "/model.safetensors"), history)
    }

    /// Largest |a − b| over all weights, relative to the largest |a|.
    private func relativeDifference(_ a: SafeTensors.File, _ b: SafeTensors.File) -> Float {
        var difference: Float = 0, scale: Float = 0
        for tensor in a.tensors {
            guard let other = b[tensor.name] else { return .infinity }
            for (x, y) in zip(tensor.values, other.values) {
                difference = max(difference, abs(x - y))
                scale = max(scale, abs(x))
            }
        }
        return difference / scale
    }

    func testMicroBatchesGiveTheWholeBatchsSteps() throws {
        let whole = try train(microBatches: 1, "accumulate-1")
        let four = try train(microBatches: 4, "accumulate-4")
        XCTAssertEqual(whole.history.map(\.step), [10, 20])
        XCTAssertEqual(four.history.map(\.step), [10, 20], "micro-batches are not optimizer steps")
        let difference = relativeDifference(whole.weights, four.weights)
        // Measured: 7.5e-8 where every LeNet-5 pass runs the direct kernels (AVX-512 builds),
        // 2.7e-4 where conv2's weight gradient runs im2col + GEMM (AVX2), whose sum over 16
        // images differs from the one over 64 in the last bit, and 20 steps amplify that. The
        // losses still agree to 1e-4 (below).
        XCTAssertLessThan(difference, 1e-3, "20 steps with 4 micro-batches of 16 must match batches of 64")
        XCTAssertGreaterThan(
            difference, 0,
            "summing in another order rounds differently; equal bits would mean "
                + "the micro-batch path did not run")
        for (a, b) in zip(whole.history, four.history) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-4 * a.trainLoss)
            XCTAssertEqual(a.trainAccuracy, b.trainAccuracy, accuracy: 2.0 / 640)
            XCTAssertEqual(a.validationLoss, b.validationLoss, accuracy: 1e-4 * a.validationLoss)
        }
    }

    func testMicroBatchesAcrossRanksMatchOneRank() throws {
        let one = try train(microBatches: 1, "accumulate-ranks-1")
        let two = try train(microBatches: 2, workers: 2, "accumulate-ranks-2")
        XCTAssertLessThan(
            relativeDifference(one.weights, two.weights), 1e-3,
            "2 ranks × 2 micro-batches of 16 must take one rank's steps over batches of 64")
        XCTAssertEqual(two.history.last?.step, 20)
    }

    func testMicroBatchesMustDivideTheBatch() throws {
        var config = TrainingFixtures.smallSynthetic(runDirectory: ProcessRunner.temporaryDirectory("accumulate-bad"))
        config.training.microBatches = 3
        let problems = ConfigValidator(source: "test", document: nil).problems(config, knownModels: Catalog.models)
        XCTAssertEqual(
            problems.map(\.message),
            ["'training.micro_batches' is 3, which does not divide training.batch_size 64 into equal micro-batches"])

        config.training.microBatches = 0  // its own rule's error, not a division by zero
        XCTAssertEqual(ConfigValidator(source: "test", document: nil).problems(config, knownModels: Catalog.models)
            .map(\.message), ["'training.micro_batches' must be a positive integer, got 0"])
        config.training.microBatches = 3

        // 8 images over 4 ranks leave 2 per rank: 4 micro-batches cannot split them. Every rank
        // stops before its first collective, so rank 0 alone shows it.
        config.training.batchSize = 8
        config.training.microBatches = 4
        let communicator = try InProcessCommunicator.makeGroup(size: 4)[0]
        XCTAssertThrowsError(try Trainer(config: config, communicator: communicator, logger: .silent)) { error in
            XCTAssertEqual(
                "\(error)",
                "training.micro_batches 4 does not divide each rank's 2 images of a batch "
                    + "(training.batch_size 8 over 4 ranks) into equal micro-batches")
            XCTAssertEqual(ExitStatus.of(error), ExitStatus.inputError)
        }
    }
}
