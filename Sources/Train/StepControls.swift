import NN

/// The scalars a step sends with its gradients, summed over ranks in the same all-reduce, so
/// every rank takes the same decisions (stop, skip) from the same numbers.
public struct StepControls: Equatable, Sendable {
    /// A stop signal (SIGTERM/SIGINT) reached some rank.
    public var stopRequested: Bool
    /// Some rank's loss was NaN or Inf.
    public var nonFiniteLoss: Bool
    /// Training loss sum, correct predictions and images (a non-finite loss counts as 0).
    public var lossSum: Double
    public var correct: Double
    public var count: Double
    /// Unreadable images replaced in the batch (`data.on_bad_image: skip`).
    public var replacedImages: Int

    public init(stopRequested: Bool, nonFiniteLoss: Bool, lossSum: Double, correct: Double, count: Double,
                replacedImages: Int = 0) {
        self.stopRequested = stopRequested
        self.nonFiniteLoss = nonFiniteLoss
        self.lossSum = lossSum
        self.correct = correct
        self.count = count
        self.replacedImages = replacedImages
    }

    /// This rank's share: its loss result and whether it was asked to stop.
    init(local result: SoftmaxCrossEntropy.Result, stopRequested: Bool, replacedImages: Int = 0) {
        self.init(stopRequested: stopRequested, nonFiniteLoss: !result.lossSum.isFinite,
                  lossSum: result.lossSum.isFinite ? result.lossSum : 0, correct: Double(result.correct),
                  count: Double(result.count), replacedImages: replacedImages)
    }
}

/// What one `trainStep` did.
struct StepResult {
    /// This rank's loss over its shard of the batch.
    var local: SoftmaxCrossEntropy.Result
    /// The controls summed over all ranks.
    var global: StepControls
    /// The optimizer step was taken (false: skipped for a non-finite loss on some rank).
    var updated: Bool { !global.nonFiniteLoss }
}
