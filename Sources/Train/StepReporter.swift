import Foundation
import Reports

/// What one optimizer step measured, summed over all ranks.
struct StepSample {
    /// Optimizer steps taken, this one included.
    var step: Int
    /// Epoch in progress, 0-based, and its batches done, this one included.
    var epoch: Int
    var batchInEpoch: Int
    var learningRate: Double
    /// This step's loss sum, correct predictions and images over all ranks (zero for a skipped step).
    var lossSum: Double
    var correct: Double
    var count: Double
    /// Running means over the epoch so far.
    var epochLoss: Double
    var epochAccuracy: Double
    /// Seconds rank 0 waited for the step's gradient all-reduce (0 for one rank).
    var allReduceWaitSeconds: Double
    /// Wall-clock seconds since the run started (earlier sessions included).
    var time: Double
}

/// Per-step output of a run (rank 0): console progress — a live line on a terminal, plain
/// lines every `progressEvery` steps otherwise — the all-reduce wait at debug level, and
/// records in steps.jsonl every `recordEvery` steps.
final class StepReporter {
    let logger: Logger
    let runDirectory: RunDirectory?
    let epochs: Int
    let stepsPerEpoch: Int
    /// Steps between plain progress lines; 0: no progress output at all.
    let progressEvery: Int
    /// Steps between steps.jsonl records; 0: none.
    let recordEvery: Int
    /// Optimizer steps the whole run takes (epochs × steps, or max_steps), for the run's ETA.
    let totalSteps: Int
    /// Seconds between rewrites of the live terminal line.
    static let liveInterval = 0.1

    private var epochStart = Date()
    private var stepsThisEpoch = 0
    private var imagesThisEpoch = 0.0
    private var lastLive = Date.distantPast
    private var recordStart = Date()
    private var imagesSinceRecord = 0.0
    /// This session's first step and when it began: the pace the run's ETA extrapolates,
    /// validations and checkpoints included.
    private var sessionStart: (time: Date, step: Int)?

    init(logger: Logger, runDirectory: RunDirectory?, epochs: Int, stepsPerEpoch: Int, progressEvery: Int,
         recordEvery: Int, totalSteps: Int) {
        self.logger = logger
        self.runDirectory = runDirectory
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        self.progressEvery = progressEvery
        self.recordEvery = recordEvery
        self.totalSteps = totalSteps
    }

    func epochStarted() {
        epochStart = Date()
        stepsThisEpoch = 0
        imagesThisEpoch = 0
        recordStart = epochStart
        imagesSinceRecord = 0
    }

    func stepFinished(_ sample: StepSample) throws {
        if sessionStart == nil { sessionStart = (epochStart, sample.step - 1) }
        stepsThisEpoch += 1
        imagesThisEpoch += sample.count
        imagesSinceRecord += sample.count
        logger.debug(String(format: "step %d  all-reduce wait %.3f ms", sample.step, 1000 * sample.allReduceWaitSeconds))
        if progressEvery > 0 { progress(sample) }
        if recordEvery > 0 && sample.step % recordEvery == 0 {
            let now = Date()
            let rate = imagesSinceRecord / max(now.timeIntervalSince(recordStart), 1e-9)
            recordStart = now
            imagesSinceRecord = 0
            let record = StepRecord.training(
                step: sample.step, epoch: epochFraction(sample), learningRate: sample.learningRate,
                loss: sample.count > 0 ? sample.lossSum / sample.count : .nan,
                accuracy: sample.count > 0 ? sample.correct / sample.count : .nan, imagesPerSecond: rate,
                allReduceWaitSeconds: sample.allReduceWaitSeconds, time: sample.time)
            try runDirectory?.appendSteps(record)
        }
    }

    /// A step-level validation: logged, and recorded in steps.jsonl.
    func validated(step: Int, epoch: Int, batchInEpoch: Int, result: Evaluation, time: Double) throws {
        logger.info(String(format: "  step %d  val loss %.4f acc %.2f%%", step, result.meanLoss, 100 * result.accuracy))
        var record = StepRecord(step: step, epoch: Double(epoch) + Double(batchInEpoch) / Double(max(stepsPerEpoch, 1)),
                                time: time)
        record.validationLoss = result.meanLoss
        record.validationAccuracy = result.accuracy
        record.validationTop5 = result.classes >= 5 ? result.top5Accuracy : nil
        if recordEvery > 0 { try runDirectory?.appendSteps(record) }
    }

    private func epochFraction(_ sample: StepSample) -> Double {
        Double(sample.epoch) + Double(sample.batchInEpoch) / Double(max(stepsPerEpoch, 1))
    }

    /// A validation batch done: the live line shows how far validation has got.
    func validating(epoch: Int, batch: Int, batches: Int) {
        guard logger.isTerminal, progressEvery > 0 else { return }
        let now = Date()
        guard now.timeIntervalSince(lastLive) >= StepReporter.liveInterval || batch == batches else { return }
        lastLive = now
        logger.status { ProgressLine.validation(epoch: epoch, epochs: self.epochs, batch: batch, batches: batches,
                                                width: $0) }
    }

    private func progress(_ sample: StepSample) {
        let now = Date()
        let seconds = now.timeIntervalSince(epochStart)
        var line = ProgressLine(epoch: sample.epoch + 1, epochs: epochs, step: sample.batchInEpoch, steps: stepsPerEpoch,
                                loss: sample.epochLoss, accuracy: sample.epochAccuracy,
                                imagesPerSecond: imagesThisEpoch / max(seconds, 1e-9),
                                etaSeconds: seconds / Double(stepsThisEpoch) * Double(stepsPerEpoch - sample.batchInEpoch))
        if let sessionStart, sample.step > sessionStart.step {
            let pace = now.timeIntervalSince(sessionStart.time) / Double(sample.step - sessionStart.step)
            line.runEtaSeconds = pace * Double(max(0, totalSteps - sample.step))
        }
        if logger.isTerminal {
            guard now.timeIntervalSince(lastLive) >= StepReporter.liveInterval || sample.batchInEpoch == stepsPerEpoch else { return }
            lastLive = now
            logger.status { line.fitted(width: $0) }
        } else if sample.step % progressEvery == 0 {
            logger.info(line.plainText)
        }
    }
}
