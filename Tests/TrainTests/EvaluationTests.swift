import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Datasets
@testable import Distributed
@testable import NN
@testable import Train

/// `cnn-dist evaluate` and the Evaluator the trainer shares with it.
final class EvaluationTests: XCTestCase {
    /// Flatten → Linear(2, 3) with weights [[1, 0], [0, 1], [0, 0]] and bias [0, 0, 0.5]: the
    /// logits of image (a, b) are (a, b, 0.5).
    func tinyModel() throws -> Model {
        let model = try Model(name: "tiny", inputShape: [1, 1, 2], classes: 3,
                              network: Sequential(indexed: [Flatten(), Linear(2, 3)]))
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.value) })
        for (i, w) in [Float(1), 0, 0, 1, 0, 0].enumerated() { parameters["1.weight"]![i] = w }
        for (i, b) in [Float(0), 0, 0.5].enumerated() { parameters["1.bias"]![i] = b }
        return model
    }

    /// Five images: (1, 0) → 0 ✓, (0, 1) → 1 ✓, (0, 0) label 2 → 2 ✓, (0.75, 0) label 1 → 0 ✗, (0, 0) label 0 → 2 ✗.
    let images = LabeledImages(name: "hand-made", channels: 1, height: 1, width: 2, classes: 3,
                               pixels: [1, 0, 0, 1, 0, 0, 0.75, 0, 0, 0], labels: [0, 1, 2, 1, 0])

    func crossEntropy(_ logits: [Double], _ label: Int) -> Double {
        Foundation.log(logits.map { Foundation.exp($0) }.reduce(0, +)) - logits[label]
    }

    /// `body` on two in-process ranks (threads); each rank's result, nil where it threw.
    func onTwoRanks<T>(_ body: @escaping (Communicator) throws -> T) throws -> [T?] {
        let group = try InProcessCommunicator.makeGroup(size: 2)
        let results = RankResults<T?>(ranks: 2, initial: nil)
        let done = DispatchGroup()
        for communicator in group {
            done.enter()
            Thread.detachNewThread {
                results.store(try? body(communicator), rank: communicator.rank)
                done.leave()
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        return (0..<2).map { results.value(rank: $0) }
    }

    /// An ensemble averages its members' softmax probabilities: two copies of a model give that
    /// model's figures; with a second model favouring class 1, the figures of the mean, by hand.
    func testEnsembleAveragesProbabilities() throws {
        let batches = try BatchMaker(images: images, normalization: nil, seed: 0)
        func evaluate(_ ensemble: [Model]) throws -> Evaluation {
            try Evaluator(model: try tinyModel(), batches: batches, globalBatchSize: 2,
                          communicator: SingleProcessCommunicator(), confusion: true, ensemble: ensemble).evaluate()
        }
        let single = try evaluate([]), twice = try evaluate([try tinyModel()])
        XCTAssertEqual(twice.correct, single.correct)
        XCTAssertEqual(twice.confusion, single.confusion)
        XCTAssertEqual(twice.meanLoss, single.meanLoss, accuracy: 1e-6)
        let other = try tinyModel()
        other.namedParameters().first { $0.name == "1.bias" }!.parameter.value.pointer[1] = 1
        let pair = try evaluate([other])
        func softmax(_ x: [Double]) -> [Double] {
            let e = x.map { Foundation.exp($0) }
            return e.map { $0 / e.reduce(0, +) }
        }
        var (loss, correct) = (0.0, 0.0)
        for (n, label) in images.labels.enumerated() {
            let (a, b) = (Double(images.pixels[2 * n]), Double(images.pixels[2 * n + 1]))
            let mean = zip(softmax([a, b, 0.5]), softmax([a, b + 1, 0.5])).map { ($0 + $1) / 2 }
            loss -= Foundation.log(mean[Int(label)])
            if mean.firstIndex(of: mean.max()!) == Int(label) { correct += 1 }
        }
        XCTAssertEqual(pair.meanLoss, loss / 5, accuracy: 1e-6)
        XCTAssertEqual(pair.correct, correct)
        XCTAssertNotEqual(pair.meanLoss, single.meanLoss, accuracy: 1e-3)
    }

    /// `--ten-crop` on images validation uses whole: every position is the whole image, so five
    /// views are each image and five its mirror image; the figures are those of the mean of the
    /// two softmaxes, by hand. Linear(3, 3) gives image (a, b, c) the logits (a, b + c/10, 0.5).
    func testTenCropAveragesTheCropsAndTheirMirrorImages() throws {
        let model = try Model(name: "tiny3", inputShape: [1, 1, 3], classes: 3,
                              network: Sequential(indexed: [Flatten(), Linear(3, 3)]))
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map {
            ($0.name, $0.parameter.value)
        })
        for (i, w) in [Float(1), 0, 0, 0, 1, 0.1, 0, 0, 0].enumerated() { parameters["1.weight"]![i] = w }
        for (i, b) in [Float(0), 0, 0.5].enumerated() { parameters["1.bias"]![i] = b }
        let images = LabeledImages(name: "rows", channels: 1, height: 1, width: 3, classes: 3,
                                   pixels: [1, 0, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0.2, 0.1, 0.9, 1.5],
                                   labels: [0, 1, 2, 2, 0])
        let batches = try BatchMaker(images: images, normalization: nil, seed: 0)
        let views = CropView.tenCrop.map { batches.validationView($0) }
        let result = try Evaluator(model: model, batches: views[0], globalBatchSize: 2,
                                   communicator: SingleProcessCommunicator(), views: Array(views.dropFirst()))
            .evaluate()
        let plain = try Evaluator(model: model, batches: batches, globalBatchSize: 2,
                                  communicator: SingleProcessCommunicator()).evaluate()
        func softmax(_ x: [Double]) -> [Double] {
            let e = x.map { Foundation.exp($0) }
            return e.map { $0 / e.reduce(0, +) }
        }
        func logits(_ a: Double, _ b: Double, _ c: Double) -> [Double] { [a, b + c / 10, 0.5] }
        var (loss, correct) = (0.0, 0.0)
        for (n, label) in images.labels.enumerated() {
            let pixel = (0..<3).map { Double(images.pixels[3 * n + $0]) }
            let mirrored = softmax(logits(pixel[2], pixel[1], pixel[0]))
            let mean = zip(softmax(logits(pixel[0], pixel[1], pixel[2])), mirrored).map { ($0 + $1) / 2 }
            loss -= Foundation.log(mean[Int(label)])
            if mean.firstIndex(of: mean.max()!) == Int(label) { correct += 1 }
        }
        XCTAssertEqual(result.count, 5)
        XCTAssertEqual(result.meanLoss, loss / 5, accuracy: 1e-6)
        XCTAssertEqual(result.correct, correct)
        XCTAssertNotEqual(result.meanLoss, plain.meanLoss, accuracy: 1e-3, "the mirror images must count")
    }

    func testFiguresOnHandMadeImages() throws {
        let evaluator = try Evaluator(model: try tinyModel(), images: images, normalization: nil, globalBatchSize: 2,
                                      communicator: SingleProcessCommunicator(), confusion: true)
        let result = try evaluator.evaluate()
        XCTAssertEqual(result.count, 5)
        XCTAssertEqual(result.correct, 3)
        XCTAssertEqual(result.accuracy, 0.6)
        XCTAssertEqual(result.top5Accuracy, 1, "3 classes: every label is within the top 5")
        XCTAssertEqual(result.confusion, [1, 0, 1,
                                          1, 1, 0,
                                          0, 0, 1])
        XCTAssertEqual(result.classCounts, [2, 2, 1])
        XCTAssertEqual(result.perClassAccuracy, [0.5, 0.5, 1])
        let loss = (crossEntropy([1, 0, 0.5], 0) + crossEntropy([0, 1, 0.5], 1) + crossEntropy([0, 0, 0.5], 2)
            + crossEntropy([0.75, 0, 0.5], 1) + crossEntropy([0, 0, 0.5], 0)) / 5
        XCTAssertEqual(result.meanLoss, loss, accuracy: 1e-6)
    }

    func testTwoRanksGiveTheSameFiguresAsOne() throws {
        let one = try Evaluator(model: try tinyModel(), images: images, normalization: nil, globalBatchSize: 2,
                                communicator: SingleProcessCommunicator(), confusion: true).evaluate()
        let models = try (0..<2).map { _ in try tinyModel() }
        let results = try onTwoRanks { communicator in
            try Evaluator(model: models[communicator.rank], images: self.images, normalization: nil, globalBatchSize: 2,
                          communicator: communicator, confusion: true).evaluate()
        }
        for rank in 0..<2 {
            let result = try XCTUnwrap(results[rank])
            XCTAssertEqual(result.confusion, one.confusion)
            XCTAssertEqual(result.count, one.count)
            XCTAssertEqual(result.correct, one.correct)
            XCTAssertEqual(result.top5, one.top5)
            XCTAssertEqual(result.meanLoss, one.meanLoss, accuracy: 1e-12)
        }
    }

    /// A trained checkpoint evaluates to what the trainer's validation recorded for it, on 1
    /// and 2 ranks; JSON parses; weights-only and non-checkpoint files are clear errors.
    func testCheckpointMatchesTheRunsValidation() throws {
        let directory = ProcessRunner.temporaryDirectory("evaluate")
        let config = TrainingFixtures.smallSynthetic(runDirectory: directory)
        try TrainingLauncher.run(config: config, log: { _ in })
        let checkpoint = directory + "/checkpoints/step-000000010.safetensors"
        let epoch = try JSONSerialization.jsonObject(with: Data(try String(contentsOfFile: directory + "/metrics.jsonl",
                                                                           encoding: .utf8).utf8)) as! [String: Any]
        let single = try CheckpointEvaluation.run(checkpoint: checkpoint, communicator: SingleProcessCommunicator())
        XCTAssertEqual(single.step, 10)
        XCTAssertEqual(single.result.count, 256)
        XCTAssertEqual(single.result.accuracy, epoch["val_accuracy"] as! Double)
        XCTAssertEqual(single.result.meanLoss, epoch["val_loss"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(single.result.top5Accuracy, epoch["val_top5_accuracy"] as! Double)
        XCTAssertEqual(single.result.confusion?.reduce(0, +), 256)
        XCTAssertEqual(single.result.perClassAccuracy.count, 10)

        let results = try onTwoRanks { try CheckpointEvaluation.run(checkpoint: checkpoint, communicator: $0) }
        let two = try XCTUnwrap(results[0]).result
        XCTAssertEqual(two.confusion, single.result.confusion)
        XCTAssertEqual(two.correct, single.result.correct)
        XCTAssertEqual(two.meanLoss, single.result.meanLoss, accuracy: 1e-9)

        let json = try JSONSerialization.jsonObject(with: Data(single.json.utf8)) as! [String: Any]
        XCTAssertEqual(json["images"] as? Int, 256)
        XCTAssertEqual(json["top1_accuracy"] as? Double, single.result.accuracy)
        XCTAssertEqual((json["confusion_matrix"] as? [[Int]])?.count, 10)
        XCTAssertEqual((json["per_class"] as? [[String: Any]])?.first?["class"] as? Int, 0)
        XCTAssertTrue(single.table.contains("confusion matrix (rows: true class, columns: predicted class)"), single.table)

        // model.safetensors holds weights only: it needs --config.
        let weights = directory + "/model.safetensors"
        XCTAssertThrowsError(try CheckpointEvaluation.run(checkpoint: weights, communicator: SingleProcessCommunicator())) {
            XCTAssertTrue("\($0)".contains("pass --config FILE to evaluate a weights-only file"), "\($0)")
        }
        let configFile = try TrainingFixtures.write(config, in: directory)
        let fromWeights = try CheckpointEvaluation.run(checkpoint: weights, configPath: configFile, communicator: SingleProcessCommunicator())
        XCTAssertEqual(fromWeights.result.confusion, single.result.confusion)
        XCTAssertNil(fromWeights.step)

        let garbage = directory + "/notes.safetensors"
        try "not a checkpoint".write(toFile: garbage, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CheckpointEvaluation.run(checkpoint: garbage, communicator: SingleProcessCommunicator())) {
            XCTAssertTrue("\($0)".hasPrefix("\(garbage): not a valid safetensors checkpoint"), "\($0)")
        }
    }

}
