import ArgumentParser
import Foundation
import Reports
import Train

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's loss, accuracy and learning rate against epochs as an SVG, or compare runs.",
        discussion: """
        One run: reads RUN_DIR/metrics.jsonl (and RUN_DIR/steps.jsonl where present, drawn as faint \
        per-step lines); marks plateau learning-rate drops, resumes and the best epoch (highest \
        validation accuracy). Several runs: their epoch series overlaid, one colour each, validation \
        solid and training dashed.
        """)

    @Argument(help: ArgumentHelp("Run directory (holding metrics.jsonl); several to compare them.",
                                 valueName: "run-dir"))
    var runDirectories: [String]
    @Option(name: .shortAndLong,
            help: "Output SVG file (default: RUN_DIR/metrics.svg; comparison.svg for several runs).")
    var output: String?

    func run() throws {
        if runDirectories.count == 1 {
            let plot = try MetricsPlot(runDirectory: runDirectories[0])
            let svg = try plot.write(to: output)
            let steps = plot.steps.isEmpty ? "" : ", \(plot.steps.count) step record(s)"
            print("\(svg): \(plot.epochs.count) epoch(s)\(steps), \(plot.markers.count) marker(s)")
        } else {
            let comparison = try MetricsComparison(runDirectories: runDirectories)
            let svg = try comparison.write(to: output ?? "comparison.svg")
            let runs = zip(comparison.names, comparison.runs).map { "\($0) (\($1.epochs.count) epoch(s))" }
            print("\(svg): \(runs.count) runs: " + runs.joined(separator: ", "))
        }
    }
}
