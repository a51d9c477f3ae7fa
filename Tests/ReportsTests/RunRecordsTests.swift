import Foundation
import XCTest

@testable import Reports

/// metrics.jsonl and steps.jsonl lines: the names the README documents, NaN as null, round trips.
final class RunRecordsTests: XCTestCase {
    func testEpochLineNamesAndRoundTrip() throws {
        var metrics = EpochMetrics(epoch: 2, step: 250, learningRate: 0.05, trainLoss: 0.125,
                                   trainAccuracy: 0.96875, validationLoss: .nan, validationAccuracy: 0.5,
                                   imagesPerSecond: 1000, time: 12.5)
        metrics.learningRateDrop = LearningRateDrop(old: 0.05, new: 0.005)
        metrics.resumedAtStep = 200
        let line = JSONLines.encode(metrics)
        XCTAssertEqual(line, "{\"epoch\":2,\"images_per_sec\":1000,\"lr\":0.05,"
            + "\"lr_drop\":{\"from\":0.05,\"to\":0.005},\"resumed_at_step\":200,\"step\":250,\"time\":12.5,"
            + "\"train_accuracy\":0.96875,\"train_loss\":0.125,"
            + "\"val_accuracy\":0.5,\"val_loss\":null}")
        let back = try JSONLines.decode(EpochMetrics.self, from: Substring(line))
        XCTAssertEqual(back, metrics)
        XCTAssertTrue(back.validationLoss.isNaN)
        XCTAssertNil(back.validationTop5)
    }

    func testStepLinesCarryOnlyTheirFields() throws {
        let training = StepRecord.training(step: 10, epoch: 0.5, learningRate: 0.1, loss: .nan, accuracy: .nan,
                                           imagesPerSecond: 900, allReduceWaitSeconds: 0.001, time: 1)
        XCTAssertEqual(JSONLines.encode(training), "{\"accuracy\":null,\"allreduce_wait_seconds\":0.001,\"epoch\":0.5,"
            + "\"images_per_sec\":900,\"loss\":null,\"lr\":0.1,\"step\":10,\"time\":1}")
        var validation = StepRecord(step: 20, epoch: 1, time: 2)
        validation.validationLoss = 0.25
        validation.validationAccuracy = 0.75
        let line = JSONLines.encode(validation)
        XCTAssertEqual(line, "{\"epoch\":1,\"step\":20,\"time\":2,\"val_accuracy\":0.75,\"val_loss\":0.25}")
        XCTAssertEqual(try JSONLines.decode(StepRecord.self, from: Substring(line)), validation)
    }

    func testRounding() {
        XCTAssertEqual(rounded(12.3456, places: 1), 12.3)
        XCTAssertEqual(rounded(0.00049, places: 3), 0)
        XCTAssertEqual(JSONLines.encode([rounded(2.0 / 3.0, places: 4)]), "[0.6667]")
    }
}
