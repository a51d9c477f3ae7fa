import Foundation

/// What one epoch of training measured; one line of metrics.jsonl.
public struct EpochMetrics: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Optimizer steps taken in all at the epoch's end.
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
    public var validationTop5: Double?
    /// Set on the first epoch after a resume: the step the run resumed at.
    public var resumedAtStep: Int?
    /// A plateau drop at the end of this epoch.
    public var learningRateDrop: LearningRateDrop?
    /// Unreadable images replaced by others in this epoch, training and validation
    /// (`data.on_bad_image: skip`); nil when none.
    public var replacedImages: Int?

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

    enum CodingKeys: String, CodingKey {
        case epoch, step, learningRate = "lr", trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case validationLoss = "val_loss", validationAccuracy = "val_accuracy", imagesPerSecond = "images_per_sec", time
        case validationTop5 = "val_top5_accuracy", learningRateDrop = "lr_drop", resumedAtStep = "resumed_at_step"
        case replacedImages = "replaced_images"
    }

    // NaN and infinities are written as null, which JSON can hold, and read back as NaN.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        step = try c.decode(Int.self, forKey: .step)
        learningRate = try c.decodeNumber(forKey: .learningRate)
        trainLoss = try c.decodeNumber(forKey: .trainLoss)
        trainAccuracy = try c.decodeNumber(forKey: .trainAccuracy)
        validationLoss = try c.decodeNumber(forKey: .validationLoss)
        validationAccuracy = try c.decodeNumber(forKey: .validationAccuracy)
        imagesPerSecond = try c.decodeNumber(forKey: .imagesPerSecond)
        time = try c.decodeNumber(forKey: .time)
        validationTop5 = try c.decodeIfPresent(Double.self, forKey: .validationTop5)
        learningRateDrop = try c.decodeIfPresent(LearningRateDrop.self, forKey: .learningRateDrop)
        resumedAtStep = try c.decodeIfPresent(Int.self, forKey: .resumedAtStep)
        replacedImages = try c.decodeIfPresent(Int.self, forKey: .replacedImages)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(step, forKey: .step)
        try c.encodeNumber(learningRate, forKey: .learningRate)
        try c.encodeNumber(trainLoss, forKey: .trainLoss)
        try c.encodeNumber(trainAccuracy, forKey: .trainAccuracy)
        try c.encodeNumber(validationLoss, forKey: .validationLoss)
        try c.encodeNumber(validationAccuracy, forKey: .validationAccuracy)
        try c.encodeNumber(imagesPerSecond, forKey: .imagesPerSecond)
        try c.encodeNumber(time, forKey: .time)
        if let validationTop5 { try c.encodeNumber(validationTop5, forKey: .validationTop5) }
        try c.encodeIfPresent(learningRateDrop, forKey: .learningRateDrop)
        try c.encodeIfPresent(resumedAtStep, forKey: .resumedAtStep)
        try c.encodeIfPresent(replacedImages, forKey: .replacedImages)
    }

    public func logLine(epochs: Int) -> String {
        func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        return "epoch \(epoch)/\(epochs)  train loss \(String(format: "%.4f", trainLoss)) acc \(percent(trainAccuracy))"
            + "  val loss \(String(format: "%.4f", validationLoss)) acc \(percent(validationAccuracy))"
            + (validationTop5.map { " top5 \(percent($0))" } ?? "")
            + "  lr \(String(format: "%.4g", learningRate))  \(String(format: "%.0f", imagesPerSecond)) img/s"
            + "  \(String(format: "%.1f", time)) s"
            + (replacedImages.map { "  \($0) unreadable image(s) replaced" } ?? "")
    }

    // NaN ≠ NaN: records are equal when they encode alike.
    public static func == (a: EpochMetrics, b: EpochMetrics) -> Bool { JSONLines.encode(a) == JSONLines.encode(b) }
}

/// A plateau drop: the learning rate before and after.
public struct LearningRateDrop: Codable, Equatable, Sendable {
    public var old: Double
    public var new: Double

    public init(old: Double, new: Double) {
        self.old = old
        self.new = new
    }

    enum CodingKeys: String, CodingKey {
        case old = "from", new = "to"
    }
}
