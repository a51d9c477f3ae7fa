import Checkpoint
import Foundation

/// Several runs' epoch metrics overlaid, one colour a run (`cnn-dist plot RUN1 RUN2 …`):
/// validation solid and training dashed, each run's best epoch ringed, the legends naming the
/// run folders. Per-step streams and markers are left out: one run's would hide the others.
public struct MetricsComparison {
    public var runs: [MetricsPlot]
    /// What the legends call each run: its folder's name, with as many parent folders as it takes
    /// to tell runs apart (`a/run` and `b/run`).
    public var names: [String]

    /// Colours told apart in print and by most colour-blind readers (matplotlib's tab10); an
    /// eleventh run takes the first colour again.
    static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ]

    public init(runDirectories: [String]) throws {
        runs = try runDirectories.map { try MetricsPlot(runDirectory: $0) }
        names = MetricsComparison.names(runDirectories)
    }

    /// The shortest trailing parts of the paths that differ; the paths themselves when they do not.
    static func names(_ paths: [String]) -> [String] {
        // Absolute, so that "." is named by its folder.
        let components = paths.map { URL(fileURLWithPath: $0).standardizedFileURL.pathComponents.filter { $0 != "/" } }
        let longest = components.map(\.count).max() ?? 0
        for count in 1...max(longest, 1) {
            let names = components.map { $0.suffix(count).joined(separator: "/") }
            if Set(names).count == names.count && !names.contains("") { return names }
        }
        return paths
    }

    public var chart: SVGChart {
        var loss: [SVGChart.Series] = [], accuracy: [SVGChart.Series] = [], rate: [SVGChart.Series] = []
        var runKeys: [SVGChart.LegendEntry] = [], bestKeys: [SVGChart.LegendEntry] = []
        var best: [SVGChart.Highlight] = []
        for (index, (run, name)) in zip(runs, names).enumerated() {
            let color = MetricsComparison.palette[index % MetricsComparison.palette.count]
            func series(
                _ kind: String, _ value: (EpochMetrics) -> Double?, scale: Double = 1,
                dashed: Bool = false
            ) -> SVGChart.Series {
                SVGChart.Series(
                    name: "\(name)/\(kind)", label: name, color: color,
                    points: MetricsPlot.epochPoints(run.epochs, value, scale: scale), dashed: dashed,
                    showsPoints: !dashed)
            }
            loss += [series("val_loss", \.validationLoss), series("train_loss", \.trainLoss, dashed: true)]
            accuracy += [
                series("val_accuracy", \.validationAccuracy, scale: 100),
                series("train_accuracy", \.trainAccuracy, scale: 100, dashed: true),
            ]
            let rates = MetricsPlot.epochPoints(run.epochs, \.learningRate).flatMap { [(x: $0.x - 1, y: $0.y), $0] }
            rate.append(SVGChart.Series(name: "\(name)/lr", label: name, color: color, points: rates))
            runKeys.append(SVGChart.LegendEntry(label: name, color: color, seriesName: name))
            let bestEpoch = run.bestEpoch
            bestKeys.append(
                SVGChart.LegendEntry(
                    label: name, detail: bestEpoch.map(MetricsPlot.bestLabel),
                    color: color, seriesName: name))
            if let bestEpoch {
                best.append(
                    SVGChart.Highlight(
                        kind: "best-epoch", x: Double(bestEpoch.epoch),
                        y: 100 * bestEpoch.validationAccuracy, label: "", color: color))
            }
        }
        let styleKeys = [
            SVGChart.LegendEntry(label: "validation", color: "#555"),
            SVGChart.LegendEntry(label: "train", color: "#555", dashed: true),
        ]
        let listed = "cnn-dist runs " + names.joined(separator: ", ")
        return SVGChart(
            title: listed.count <= 100 ? listed : "cnn-dist: \(runs.count) runs", xLabel: "epoch",
            panels: [
                SVGChart.Panel(title: "loss", series: loss, legend: runKeys + styleKeys),
                SVGChart.Panel(
                    title: "accuracy (%), best epoch ringed", series: accuracy,
                    highlights: best, legend: bestKeys + styleKeys),
                SVGChart.Panel(
                    title: "learning rate (log scale)", series: rate, logScale: true,
                    legend: runKeys),
            ],
            markers: [])
    }

    /// Writes the SVG atomically; returns its path.
    public func write(to path: String) throws -> String {
        try AtomicFile.write(Data(chart.svg.utf8), to: path)
        return path
    }
}
