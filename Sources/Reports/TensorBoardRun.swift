import Foundation

/// A training run as TensorBoard shows it: the records that go to metrics.jsonl and steps.jsonl,
/// written as scalars to an events file in the run directory, and the resolved config as text.
/// `tensorboard --logdir runs` then lists each run directory under `runs` as a run.
///
/// A resumed run opens a new events file in the same directory; TensorBoard merges a directory's
/// files by step. Each file begins with a session-start marker (SessionLog START) at the step the
/// session starts from, one past the step resumed at, so that TensorBoard drops the points an
/// abandoned continuation recorded after that step (a resume from an older checkpoint), as
/// metrics.jsonl drops them: its Python loader at the marker, its Rust loader (`--load_fast`, the
/// default where tensorboard-data-server is installed) as each series is recorded again from an
/// earlier step. A fresh run's marker, at step 0, does the same for an earlier run in the folder.
///
/// Points carry the wall-clock time they are recorded at: the records' own `time` counts seconds
/// since the run began, not since 1970, which TensorBoard's wall-time axis needs. A value that is
/// not a number (how a record holds an absent one) is left out.
public final class TensorBoardRun {
    public let writer: TensorBoardEventWriter

    /// The events file written to.
    public var path: String { writer.path }

    /// Opens a new events file in `directory` (the run directory). `resumedAtStep`: the step of the
    /// checkpoint a resumed run restarts from; nil for a fresh run.
    public init(directory: String, resumedAtStep: Int? = nil, now: Date = Date()) throws {
        writer = try TensorBoardEventWriter(directory: directory, now: now)
        // Every session marks its start: TensorBoard's server takes the first marker it sees for the
        // run's beginning and only later ones for restarts. One step on from the resumed step: the
        // points recorded at that step are kept, as the resumed run does not record them again.
        try writer.addSessionStart(step: resumedAtStep.map { $0 + 1 } ?? 0, wallTime: now)
    }

    /// An epoch's metrics, at the step the epoch ended; made durable.
    public func record(_ metrics: EpochMetrics) throws {
        let scalars: [(tag: String, value: Double?)] = [
            ("loss/train", metrics.trainLoss), ("loss/validation", metrics.validationLoss),
            ("accuracy/train", metrics.trainAccuracy), ("accuracy/validation", metrics.validationAccuracy),
            ("accuracy/validation_top5", metrics.validationTop5), ("learning_rate", metrics.learningRate),
            ("throughput/images_per_second", metrics.imagesPerSecond), ("epoch", Double(metrics.epoch)),
        ]
        try writer.addScalars(Self.present(scalars), step: metrics.step)
        try writer.flush()
    }

    /// A steps.jsonl record: a training step's loss, rate and timing, or a step-level validation.
    public func record(_ step: StepRecord) throws {
        let scalars: [(tag: String, value: Double?)] = [
            ("step/loss", step.loss), ("step/accuracy", step.accuracy), ("step/learning_rate", step.learningRate),
            ("step/images_per_second", step.imagesPerSecond),
            ("step/allreduce_wait_ms", step.allReduceWaitSeconds.map { $0 * 1000 }),
            ("step/validation_loss", step.validationLoss), ("step/validation_accuracy", step.validationAccuracy),
            ("step/validation_top5", step.validationTop5),
        ]
        try writer.addScalars(Self.present(scalars), step: step.step)
    }

    /// The resolved config.yaml, shown verbatim (a Markdown code block) in the text dashboard; a
    /// resumed run records its own at the step it resumed at.
    public func recordConfig(_ yaml: String, step: Int = 0) throws {
        try writer.addText(tag: "config", text: Self.codeBlock(yaml, language: "yaml"), step: step)
        try writer.flush()
    }

    public func close() { writer.close() }

    /// A fenced code block whose fence is longer than any run of backticks in the text.
    static func codeBlock(_ text: String, language: String) -> String {
        var longest = 0, run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        let body = text.hasSuffix("\n") ? text : text + "\n"
        return "\(fence)\(language)\n\(body)\(fence)\n"
    }

    private static func present(_ scalars: [(tag: String, value: Double?)]) -> [(tag: String, value: Double)] {
        scalars.compactMap { scalar in
            guard let value = scalar.value, value.isFinite else { return nil }
            return (scalar.tag, value)
        }
    }
}
