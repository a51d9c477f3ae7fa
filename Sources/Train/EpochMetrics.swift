/// What one epoch of training measured; one line of metrics.jsonl.
public struct EpochMetrics: Equatable, Sendable {
    public init(epoch: Int, step: Int, learningRate: Double, trainLoss: Double, trainAccuracy: Double,
                validationLoss: Double, validationAccuracy: Double, imagesPerSecond: Double, time: Double) {
        self.epoch = epoch
        self.step = step
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.imagesPerSecond = imagesPerSecond
        self.time = time
    }

    public var epoch: Int
    public var step: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var imagesPerSecond: Double
    /// Wall-clock seconds of training so far (across resumes).
    public var time: Double
    /// Top-5 validation accuracy, for 5 classes or more.
    public var validationTop5: Double? = nil
    /// Set on the first epoch after a resume: the step the run resumed at.
    public var resumedAtStep: Int? = nil
    /// A plateau drop at the end of this epoch: old and new learning rate.
    public var learningRateDrop: (old: Double, new: Double)? = nil

    public static func == (a: EpochMetrics, b: EpochMetrics) -> Bool { a.jsonLine == b.jsonLine }

    public var jsonLine: String {
        let number = jsonNumber
        return "{\"epoch\":\(epoch),\"step\":\(step),\"lr\":\(number(learningRate)),"
            + "\"train_loss\":\(number(trainLoss)),\"train_accuracy\":\(number(trainAccuracy)),"
            + "\"val_loss\":\(number(validationLoss)),\"val_accuracy\":\(number(validationAccuracy)),"
            + "\"images_per_sec\":\(number(imagesPerSecond)),\"time\":\(number(time))"
            + (validationTop5.map { ",\"val_top5_accuracy\":\(number($0))" } ?? "")
            + (learningRateDrop.map { ",\"lr_drop\":{\"from\":\(number($0.old)),\"to\":\(number($0.new))}" } ?? "")
            + (resumedAtStep.map { ",\"resumed_at_step\":\($0)" } ?? "") + "}"
    }

    public func logLine(epochs: Int) -> String {
        func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        return "epoch \(epoch)/\(epochs)  train loss \(String(format: "%.4f", trainLoss)) acc \(percent(trainAccuracy))"
            + "  val loss \(String(format: "%.4f", validationLoss)) acc \(percent(validationAccuracy))"
            + (validationTop5.map { " top5 \(percent($0))" } ?? "")
            + "  lr \(String(format: "%.4g", learningRate))  \(String(format: "%.0f", imagesPerSecond)) img/s"
            + "  \(String(format: "%.1f", time)) s"
    }
}

import Foundation

/// A JSON number, or null for NaN and infinities (which JSON cannot hold).
func jsonNumber(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
