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
        solid and training dashed. --png (or an output ending in .png) also renders a PNG with \
        rsvg-convert (Debian/Ubuntu package librsvg2-bin) or ImageMagick, whichever is installed.
        """)

    @Argument(help: ArgumentHelp("Run directory (holding metrics.jsonl); several to compare them.",
                                 valueName: "run-dir"))
    var runDirectories: [String]
    @Option(name: .shortAndLong,
            help: ArgumentHelp("Output SVG file (default: RUN_DIR/metrics.svg; comparison.svg for several runs). "
                + "A name ending in .png writes the PNG there and the SVG beside it."))
    var output: String?
    @Flag(help: "Also write a PNG beside the SVG (the same name, ending .png).") var png = false

    func run() throws {
        var svgOutput = output, pngOutput: String?
        if let output, (output as NSString).pathExtension.lowercased() == "png" {
            svgOutput = (output as NSString).deletingPathExtension + ".svg"
            pngOutput = output
        }
        let svg: String
        if runDirectories.count == 1 {
            let plot = try MetricsPlot(runDirectory: runDirectories[0])
            svg = try plot.write(to: svgOutput)
            let steps = plot.steps.isEmpty ? "" : ", \(plot.steps.count) step record(s)"
            print("\(svg): \(plot.epochs.count) epoch(s)\(steps), \(plot.markers.count) marker(s)")
        } else {
            let comparison = try MetricsComparison(runDirectories: runDirectories)
            svg = try comparison.write(to: svgOutput ?? "comparison.svg")
            let runs = zip(comparison.names, comparison.runs).map { "\($0) (\($1.epochs.count) epoch(s))" }
            print("\(svg): \(runs.count) runs: " + runs.joined(separator: ", "))
        }
        guard png || pngOutput != nil else { return }
        let target = pngOutput ?? (svg as NSString).deletingPathExtension + ".png"
        guard let converter = PNGConverter.find() else { throw PNGConversionError.noConverter }
        try converter.convert(svg: svg, to: target)
        print("\(target): PNG, drawn by \(converter.kind.rawValue)")
    }
}
