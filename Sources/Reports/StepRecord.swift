/// One line of steps.jsonl: a training step (`lr` … `allreduce_wait_seconds`), or a step-level
/// validation (`val_*`). Fields a line does not carry are absent; a non-finite value is null.
public struct StepRecord: Codable, Equatable, Sendable {
    public var step: Int
    /// Fractional epochs done: 2.5 is half-way through the third epoch.
    public var epoch: Double
    public var learningRate: Double?
    public var loss: Double?
    public var accuracy: Double?
    public var imagesPerSecond: Double?
    public var allReduceWaitSeconds: Double?
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var validationTop5: Double?
    /// Wall-clock seconds since the run started (earlier sessions included).
    public var time: Double

    public init(step: Int, epoch: Double, time: Double) {
        self.step = step
        self.epoch = epoch
        self.time = time
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, learningRate = "lr", loss, accuracy, imagesPerSecond = "images_per_sec"
        case allReduceWaitSeconds = "allreduce_wait_seconds", validationLoss = "val_loss"
        case validationAccuracy = "val_accuracy", validationTop5 = "val_top5_accuracy", time
    }

    /// A training step's record: loss and accuracy are null for a skipped (non-finite) step.
    public static func training(step: Int, epoch: Double, learningRate: Double, loss: Double, accuracy: Double,
                                imagesPerSecond: Double, allReduceWaitSeconds: Double, time: Double) -> StepRecord {
        var record = StepRecord(step: step, epoch: epoch, time: time)
        record.learningRate = learningRate
        record.loss = loss
        record.accuracy = accuracy
        record.imagesPerSecond = imagesPerSecond
        record.allReduceWaitSeconds = allReduceWaitSeconds
        return record
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        epoch = try c.decodeNumber(forKey: .epoch)
        time = try c.decodeNumber(forKey: .time)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate)
        loss = try c.decodeIfPresent(Double.self, forKey: .loss)
        accuracy = try c.decodeIfPresent(Double.self, forKey: .accuracy)
        imagesPerSecond = try c.decodeIfPresent(Double.self, forKey: .imagesPerSecond)
        allReduceWaitSeconds = try c.decodeIfPresent(Double.self, forKey: .allReduceWaitSeconds)
        validationLoss = try c.decodeIfPresent(Double.self, forKey: .validationLoss)
        validationAccuracy = try c.decodeIfPresent(Double.self, forKey: .validationAccuracy)
        validationTop5 = try c.decodeIfPresent(Double.self, forKey: .validationTop5)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encodeNumber(epoch, forKey: .epoch)
        for (key, value) in [(CodingKeys.learningRate, learningRate), (.loss, loss), (.accuracy, accuracy),
                             (.imagesPerSecond, imagesPerSecond), (.allReduceWaitSeconds, allReduceWaitSeconds),
                             (.validationLoss, validationLoss), (.validationAccuracy, validationAccuracy),
                             (.validationTop5, validationTop5)] {
            if let value { try c.encodeNumber(value, forKey: key) }
        }
        try c.encodeNumber(time, forKey: .time)
    }
}
