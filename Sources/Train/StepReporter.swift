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
    /// Seconds between rewrites of the live terminal line.
    static let liveInterval = 0.1

    private var epochStart = Date()
    private var stepsThisEpoch = 0
    private var imagesThisEpoch = 0.0
    private var lastLive = Date.distantPast
    private var recordStart = Date()
    private var imagesSinceRecord = 0.0

    init(logger: Logger, runDirectory: RunDirectory?, epochs: Int, stepsPerEpoch: Int, progressEvery: Int, recordEvery: Int) {
        self.logger = logger
        self.runDirectory = runDirectory
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        self.progressEvery = progressEvery
        self.recordEvery = recordEvery
    }

    func epochStarted() {
        epochStart = Date()
        stepsThisEpoch = 0
        imagesThisEpoch = 0
        recordStart = epochStart
        imagesSinceRecord = 0
    }

    func stepFinished(_ sample: StepSample) throws {
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

    private func progress(_ sample: StepSample) {
        let seconds = Date().timeIntervalSince(epochStart)
        let line = ProgressLine(epoch: sample.epoch + 1, epochs: epochs, step: sample.batchInEpoch, steps: stepsPerEpoch,
                                loss: sample.epochLoss, accuracy: sample.epochAccuracy,
                                imagesPerSecond: imagesThisEpoch / max(seconds, 1e-9),
                                etaSeconds: seconds / Double(stepsThisEpoch) * Double(stepsPerEpoch - sample.batchInEpoch))
        if logger.isTerminal {
            let now = Date()
            guard now.timeIntervalSince(lastLive) >= StepReporter.liveInterval || sample.batchInEpoch == stepsPerEpoch else { return }
            lastLive = now
            logger.status(line.liveText)
        } else if sample.step % progressEvery == 0 {
            logger.info(line.plainText)
        }
    }
}

/// The progress of an epoch in words: a plain line for logs, or a live line with a bar for a terminal.
public struct ProgressLine: Equatable, Sendable {
    public var epoch: Int
    public var epochs: Int
    /// Batches done in the epoch, and its batches in all.
    public var step: Int
    public var steps: Int
    /// Running means over the epoch so far.
    public var loss: Double
    public var accuracy: Double
    public var imagesPerSecond: Double
    /// Seconds until the epoch's last step, at the epoch's rate so far.
    public var etaSeconds: Double

    public init(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                imagesPerSecond: Double, etaSeconds: Double) {
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.loss = loss
        self.accuracy = accuracy
        self.imagesPerSecond = imagesPerSecond
        self.etaSeconds = etaSeconds
    }

    /// `  epoch 3/20  step 50/125  loss 0.1234  acc 96.09%  7518 img/s  ETA 0:01` (indented, below
    /// the epoch summaries' level).
    public var plainText: String {
        "  epoch \(epoch)/\(epochs)  step \(step)/\(steps)  \(figures)"
    }

    /// `epoch 3/20 [=======>............]  50/125  loss 0.1234  acc 96.09%  7518 img/s  ETA 0:01`
    public var liveText: String {
        "epoch \(epoch)/\(epochs) \(ProgressLine.bar(step, of: steps, width: 20))  \(step)/\(steps)  \(figures)"
    }

    /// The live text preceded by the controls that rewrite the current line (what `Logger.status` writes).
    public var terminalText: String { TerminalLine.rewrite(liveText) }

    private var figures: String {
        String(format: "loss %.4f  acc %.2f%%  %.0f img/s  ETA %@", loss, 100 * accuracy, imagesPerSecond,
               ProgressLine.duration(etaSeconds))
    }

    /// `[=====>    ]`: `width` cells, `=` for the part done, `>` at its head until the end.
    public static func bar(_ done: Int, of total: Int, width: Int) -> String {
        let filled = total > 0 ? min(width, max(0, done * width / total)) : width
        let head = filled < width && done > 0 ? ">" : ""
        let body = String(repeating: "=", count: max(0, filled - head.count)) + head
        return "[" + body + String(repeating: ".", count: width - body.count) + "]"
    }

    /// `m:ss`, or `h:mm:ss` from an hour; `?` when unknown.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
