/// What one epoch of training measured; one line of metrics.jsonl.
public struct EpochMetrics: Equatable, Sendable {
    public var epoch: Int
    public var step: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var imagesPerSecond: Double
    /// Wall-clock seconds since training started.
    public var time: Double

    public var jsonLine: String {
        func number(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
        return "{\"epoch\":\(epoch),\"step\":\(step),\"lr\":\(number(learningRate)),"
            + "\"train_loss\":\(number(trainLoss)),\"train_accuracy\":\(number(trainAccuracy)),"
            + "\"val_loss\":\(number(validationLoss)),\"val_accuracy\":\(number(validationAccuracy)),"
            + "\"images_per_sec\":\(number(imagesPerSecond)),\"time\":\(number(time))}"
    }

    public func logLine(epochs: Int) -> String {
        func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        return "epoch \(epoch)/\(epochs)  train loss \(String(format: "%.4f", trainLoss)) acc \(percent(trainAccuracy))"
            + "  val loss \(String(format: "%.4f", validationLoss)) acc \(percent(validationAccuracy))"
            + "  lr \(String(format: "%.4g", learningRate))  \(String(format: "%.0f", imagesPerSecond)) img/s"
            + "  \(String(format: "%.1f", time)) s"
    }
}

import Foundation
