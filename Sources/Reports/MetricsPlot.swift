import Checkpoint
import Foundation

/// Why a run directory's metrics cannot be plotted.
public enum PlotError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case empty(path: String)
    case malformed(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path): no such file; is this a cnn-dist run directory (its run_dir)?"
        case .empty(let path):
            return "\(path) holds no records: the run has not finished an epoch yet"
        case .malformed(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        }
    }
}

/// A run's metrics.jsonl (and steps.jsonl where present) as series against epochs, and the
/// SVG `cnn-dist plot` draws of them: loss, accuracy and learning rate (log scale), with
/// plateau drops and resumes marked.
public struct MetricsPlot {
    public var runDirectory: String
    public var epochs: [EpochMetrics]
    public var steps: [StepRecord]

    public init(runDirectory: String) throws {
        self.runDirectory = runDirectory
        let metrics = (runDirectory as NSString).appendingPathComponent("metrics.jsonl")
        epochs = try MetricsPlot.records(EpochMetrics.self, metrics)
        if epochs.isEmpty { throw PlotError.empty(path: metrics) }
        let stream = (runDirectory as NSString).appendingPathComponent("steps.jsonl")
        steps = FileManager.default.fileExists(atPath: stream) ? try MetricsPlot.records(StepRecord.self, stream) : []
    }

    /// One JSON object per line; blank lines are skipped. Errors name the line and the field.
    static func records<Record: Decodable>(_ type: Record.Type, _ path: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else { throw PlotError.missing(path: path) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PlotError.malformed(path: path, line: 1, reason: "not UTF-8 text")
        }
        var result: [Record] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                result.append(try JSONLines.decode(type, from: line))
            } catch DecodingError.keyNotFound(let key, _) {
                throw PlotError.malformed(path: path, line: index + 1, reason: "'\(key.stringValue)' is missing or not a number")
            } catch DecodingError.typeMismatch(_, let context) where context.codingPath.count == 1,
                    DecodingError.valueNotFound(_, let context) where context.codingPath.count == 1 {
                throw PlotError.malformed(path: path, line: index + 1,
                                          reason: "'\(context.codingPath[0].stringValue)' is missing or not a number")
            } catch {
                throw PlotError.malformed(path: path, line: index + 1, reason: "not a JSON object: \(line.prefix(60))")
            }
        }
        return result
    }

    /// (epoch, value) of each record that holds the value; null values are left out.
    static func points<Record>(_ records: [Record], x: (Record) -> Double, _ y: (Record) -> Double?,
                               scale: Double = 1) -> [(x: Double, y: Double)] {
        records.compactMap { record in
            guard let value = y(record), value.isFinite else { return nil }
            return (x(record), value * scale)
        }
    }

    static func epochPoints(_ records: [EpochMetrics], _ y: (EpochMetrics) -> Double?, scale: Double = 1)
        -> [(x: Double, y: Double)] {
        points(records, x: { Double($0.epoch) }, y, scale: scale)
    }

    static func stepPoints(_ records: [StepRecord], _ y: (StepRecord) -> Double?, scale: Double = 1)
        -> [(x: Double, y: Double)] {
        points(records, x: \.epoch, y, scale: scale)
    }

    /// Plateau drops at the end of their epoch; resumes at their step's place in their epoch.
    public var markers: [SVGChart.Marker] {
        var result: [SVGChart.Marker] = []
        var previousStep = 0.0
        for record in epochs {
            let epoch = Double(record.epoch), step = Double(record.step)
            if let resumedAt = record.resumedAtStep {
                let resumed = Double(resumedAt)
                let fraction = step > previousStep ? (resumed - previousStep) / (step - previousStep) : 0
                result.append(SVGChart.Marker(kind: "resume", x: epoch - 1 + min(max(fraction, 0), 1),
                                              label: "resumed at step \(resumedAt)", color: "#7b3294"))
            }
            if let drop = record.learningRateDrop {
                result.append(SVGChart.Marker(kind: "lr-drop", x: epoch,
                                              label: "lr \(ChartAxis.label(drop.old)) → \(ChartAxis.label(drop.new))",
                                              color: "#d7191c"))
            }
            previousStep = step
        }
        return result
    }

    /// The epoch of highest validation accuracy, the earliest of equals; nil when none was measured.
    public var bestEpoch: EpochMetrics? {
        epochs.filter(\.validationAccuracy.isFinite).reduce(nil) { best, record in
            guard let best, best.validationAccuracy >= record.validationAccuracy else { return record }
            return best
        }
    }

    /// "best 98.70% (epoch 8)".
    static func bestLabel(_ record: EpochMetrics) -> String {
        String(format: "best %.2f%% (epoch %d)", 100 * record.validationAccuracy, record.epoch)
    }

    /// Loss, accuracy (with the best epoch ringed) and learning rate; per-step streams faint behind.
    public var chart: SVGChart {
        // Training records; a skipped (non-finite) step keeps its rate but has no loss.
        let trainSteps = steps.filter { $0.learningRate != nil }
        let epochs = self.epochs
        func series(_ name: String, _ label: String, _ color: String, _ value: (EpochMetrics) -> Double?,
                    scale: Double = 1) -> SVGChart.Series {
            SVGChart.Series(name: name, label: label, color: color,
                            points: MetricsPlot.epochPoints(epochs, value, scale: scale), showsPoints: true)
        }
        var loss = [series("train_loss", "train", "#1f77b4", \.trainLoss),
                    series("val_loss", "validation", "#ff7f0e", \.validationLoss)]
        var accuracy = [series("train_accuracy", "train", "#1f77b4", \.trainAccuracy, scale: 100),
                        series("val_accuracy", "validation", "#ff7f0e", \.validationAccuracy, scale: 100)]
        if epochs.contains(where: { $0.validationTop5?.isFinite == true }) {
            accuracy.append(series("val_top5_accuracy", "validation top-5", "#2ca02c", \.validationTop5, scale: 100))
        }
        // An epoch's record holds the rate in force during that epoch: drawn flat across it.
        let epochRates = MetricsPlot.epochPoints(epochs, \.learningRate).flatMap { [(x: $0.x - 1, y: $0.y), $0] }
        var rate = [SVGChart.Series(name: "lr", label: "learning rate", color: "#9467bd", points: epochRates)]
        if !trainSteps.isEmpty {
            loss.append(SVGChart.Series(name: "step_loss", label: "train (steps)", color: "#1f77b4",
                                        points: MetricsPlot.stepPoints(trainSteps, \.loss), faint: true))
            accuracy.append(SVGChart.Series(name: "step_accuracy", label: "train (steps)", color: "#1f77b4",
                                            points: MetricsPlot.stepPoints(trainSteps, \.accuracy, scale: 100),
                                            faint: true))
            rate.append(SVGChart.Series(name: "step_lr", label: "per step", color: "#9467bd",
                                        points: MetricsPlot.stepPoints(trainSteps, \.learningRate), faint: true))
        }
        let best = bestEpoch.map { record in
            [SVGChart.Highlight(kind: "best-epoch", x: Double(record.epoch), y: 100 * record.validationAccuracy,
                                label: MetricsPlot.bestLabel(record), color: "#d62728")]
        }
        return SVGChart(title: "cnn-dist run \(name)", xLabel: "epoch",
                        panels: [SVGChart.Panel(title: "loss", series: loss),
                                 SVGChart.Panel(title: "accuracy (%)", series: accuracy, highlights: best ?? []),
                                 SVGChart.Panel(title: "learning rate (log scale)", series: rate, logScale: true)],
                        markers: markers)
    }

    /// The run folder's name (the path as given when it has none, as "/").
    public var name: String {
        let name = (runDirectory as NSString).lastPathComponent
        return name.isEmpty ? runDirectory : name
    }

    /// Writes the SVG atomically; returns its path.
    public func write(to path: String? = nil) throws -> String {
        let target = path ?? (runDirectory as NSString).appendingPathComponent("metrics.svg")
        try AtomicFile.write(Data(chart.svg.utf8), to: target)
        return target
    }
}
