import Foundation

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
    /// Seconds until the run's end (validations included), at this session's pace; nil: unknown.
    public var runEtaSeconds: Double?

    public init(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double, accuracy: Double,
                imagesPerSecond: Double, etaSeconds: Double, runEtaSeconds: Double? = nil) {
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.loss = loss
        self.accuracy = accuracy
        self.imagesPerSecond = imagesPerSecond
        self.etaSeconds = etaSeconds
        self.runEtaSeconds = runEtaSeconds
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

    /// The live line in at most `width − 1` columns (a line filling the last column wraps on some
    /// terminals). Narrower terminals lose, in this order: half the bar, the image rate, the run's
    /// ETA, the bar, the accuracy, the epoch's ETA; what still does not fit is cut.
    /// `epoch 3/20 [=======>............]  50/125  loss 0.1234  acc 96.09%  7518 img/s  ETA 0:01  run 1:02:05`
    public func fitted(width: Int) -> String {
        let limit = max(1, width - 1)
        let counts = "\(step)/\(steps)", lossText = String(format: "loss %.4f", loss)
        let accuracyText = String(format: "acc %.2f%%", 100 * accuracy)
        let rate = String(format: "%.0f img/s", imagesPerSecond), eta = "ETA " + ProgressLine.duration(etaSeconds)
        let run = runEtaSeconds.map { "run " + ProgressLine.duration($0) }
        func line(bar: Int, rate showRate: Bool, run showRun: Bool, accuracy showAccuracy: Bool, eta showEta: Bool)
            -> String {
            let head = "epoch \(epoch)/\(epochs)" + (bar > 0 ? " " + ProgressLine.bar(step, of: steps, width: bar) : "")
            let parts = [head, counts, lossText] + (showAccuracy ? [accuracyText] : []) + (showRate ? [rate] : [])
                + (showEta ? [eta] : []) + (showRun ? run.map { [$0] } ?? [] : [])
            return parts.joined(separator: "  ")
        }
        let layouts = [
            line(bar: 20, rate: true, run: true, accuracy: true, eta: true),
            line(bar: 10, rate: true, run: true, accuracy: true, eta: true),
            line(bar: 10, rate: false, run: true, accuracy: true, eta: true),
            line(bar: 10, rate: false, run: false, accuracy: true, eta: true),
            line(bar: 0, rate: false, run: false, accuracy: true, eta: true),
            line(bar: 0, rate: false, run: false, accuracy: false, eta: true),
            line(bar: 0, rate: false, run: false, accuracy: false, eta: false),
        ]
        let chosen = layouts.first { $0.count <= limit } ?? layouts[layouts.count - 1]
        return String(chosen.prefix(limit))
    }

    /// `validating [=====>....]  12/40` (epoch 3/20's validation, on the live line), fitted alike.
    public static func validation(epoch: Int, epochs: Int, batch: Int, batches: Int, width: Int) -> String {
        let counts = "\(batch)/\(batches)"
        let full = "epoch \(epoch)/\(epochs) validating " + bar(batch, of: batches, width: 20) + "  " + counts
        let short = "validating " + counts
        return String((full.count <= width - 1 ? full : short).prefix(max(1, width - 1)))
    }

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
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
