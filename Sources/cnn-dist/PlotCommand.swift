import ArgumentParser
import Foundation
import Reports
import Train

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's loss, accuracy and learning rate against epochs as an SVG.",
        discussion: """
        Reads RUN_DIR/metrics.jsonl (and RUN_DIR/steps.jsonl where present, drawn as faint \
        per-step lines); marks plateau learning-rate drops and resumes.
        """)

    @Argument(help: "Run directory (holding metrics.jsonl).") var runDirectory: String
    @Option(name: .shortAndLong, help: "Output SVG file (default: RUN_DIR/metrics.svg).") var output: String?

    func run() throws {
        let plot = try MetricsPlot(runDirectory: runDirectory)
        let path = try plot.write(to: output)
        print("\(path): \(plot.epochs.count) epoch(s)" + (plot.steps.isEmpty ? "" : ", \(plot.steps.count) step record(s)")
            + ", \(plot.markers.count) marker(s)")
    }
}
