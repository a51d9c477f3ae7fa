import Foundation
import XCTest

@testable import Reports

#if canImport(FoundationXML)
import FoundationXML
#endif

/// What `cnn-dist plot` draws: y ranges set by the epoch series, learning-rate ticks at the rates
/// used, single-epoch runs, the best epoch, several runs compared, and the PNG.
final class MetricsChartTests: XCTestCase {
    func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "cnn-dist-reports-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A run folder with one metrics.jsonl line per accuracy (rates as given, else 0.1) and steps.jsonl lines.
    func writeRun(_ directory: String, accuracies: [Double], rates: [Double]? = nil, steps: [String] = []) throws {
        let lines = accuracies.enumerated().map { index, accuracy in
            let epoch = index + 1, rate = rates?[index] ?? 0.1
            return "{\"epoch\":\(epoch),\"step\":\(epoch * 10),\"lr\":\(rate),\"train_loss\":\(0.5 / Double(epoch)),"
                + "\"train_accuracy\":\(min(accuracy + 0.005, 1)),\"val_loss\":\(0.6 / Double(epoch)),"
                + "\"val_accuracy\":\(accuracy),\"images_per_sec\":1000,\"time\":\(epoch)}"
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: directory + "/metrics.jsonl", atomically: true,
            encoding: .utf8)
        if !steps.isEmpty {
            try (steps.joined(separator: "\n") + "\n").write(
                toFile: directory + "/steps.jsonl", atomically: true,
                encoding: .utf8)
        }
    }

    func document(_ chart: SVGChart) throws -> XMLDocument {
        try XMLDocument(data: Data(chart.svg.utf8), options: [])
    }

    func nodes(_ document: XMLDocument, _ xpath: String) throws -> [XMLElement] {
        try document.nodes(forXPath: xpath).compactMap { $0 as? XMLElement }
    }

    /// An attribute's value, looked up in the list: `attribute(forName:)` misses them under a default
    /// namespace on Linux.
    func attribute(_ element: XMLElement, _ name: String) -> String? {
        element.attributes?.first { $0.name == name || $0.localName == name }?.stringValue
    }

    /// The y tick labels of panel `index`.
    func yTicks(_ document: XMLDocument, panel index: Int) throws -> [String] {
        try nodes(document, "//*[@id='panel-\(index)']/*[@class='y-axis']/*[local-name()='text']").compactMap(
            \.stringValue)
    }

    func testYRangeComesFromTheEpochSeries() throws {
        let directory = try temporaryDirectory("range")
        // The first steps are far off: loss 9, accuracy 3%.
        let steps = (1...20).map { i in
            "{\"step\":\(i),\"epoch\":\(Double(i) / 10),\"lr\":0.1,\"loss\":\(i < 3 ? 9.0 : 0.3),"
                + "\"accuracy\":\(i < 3 ? 0.03 : 0.96),\"time\":\(i)}"
        }
        try writeRun(directory, accuracies: [0.95, 0.97, 0.985, 0.99], steps: steps)
        let chart = try MetricsPlot(runDirectory: directory).chart
        let accuracy = SVGChart.yAxis(chart.panels[1])
        XCTAssertGreaterThan(accuracy.low, 94, "padding only, not the 3% steps")
        XCTAssertLessThan(accuracy.low, 95)
        XCTAssertGreaterThan(accuracy.high, 99.5)
        XCTAssertLessThan(accuracy.high, 101)
        let loss = SVGChart.yAxis(chart.panels[0])
        XCTAssertLessThan(loss.high, 1, "the steps' loss of 9 does not set the range")

        let svg = try document(chart)
        XCTAssertEqual(try yTicks(svg, panel: 1), ["95", "96", "97", "98", "99"])
        // The wild steps are drawn, in a group clipped to the panel.
        let stepLine = try XCTUnwrap(nodes(svg, "//*[local-name()='polyline'][@data-series='step_accuracy']").first)
        XCTAssertEqual(attribute(stepLine, "points")?.split(separator: " ").count, 20)
        XCTAssertEqual((stepLine.parent as? XMLElement).flatMap { attribute($0, "clip-path") }, "url(#clip-1)")
        XCTAssertEqual(try nodes(svg, "//*[local-name()='clipPath'][@id='clip-1']").count, 1)
    }

    func testLinearAxisPadsWithinZero() {
        let axis = ChartAxis.linear([0.02, 0.5])
        XCTAssertEqual(axis.low, 0, "a loss axis does not go below zero")
        XCTAssertEqual(axis.high, 0.5 + 0.48 * ChartAxis.padding, accuracy: 1e-12)
        XCTAssertEqual(axis.ticks.map(\.label), ["0", "0.1", "0.2", "0.3", "0.4", "0.5"])
        XCTAssertEqual(ChartAxis.ticks((0, 10)), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(ChartAxis.linear([0, 1], padding: 0.02, minimumStep: 1).ticks.map(\.value), [0, 1])
    }

    func testLearningRateTicksAtEachRateUsed() throws {
        let directory = try temporaryDirectory("rates")
        try writeRun(
            directory, accuracies: [0.9, 0.92, 0.94, 0.95, 0.96, 0.97],
            rates: [0.1, 0.1, 0.05, 0.1 * 0.1, 0.001, 0.001])
        let svg = try document(try MetricsPlot(runDirectory: directory).chart)
        XCTAssertEqual(try yTicks(svg, panel: 2), ["0.1", "0.05", "0.01", "1e-3"])

        // A tick too close to one placed is left out; beyond ten rates (a cosine schedule), decades only.
        XCTAssertEqual(ChartAxis.logarithmic([0.1, 0.099, 0.01], length: 230).ticks.map(\.label), ["0.1", "0.01"])
        let cosine = (0..<50).map { 0.0005 + 0.05 * (1 + cos(Double.pi * Double($0) / 50)) }
        XCTAssertEqual(ChartAxis.logarithmic(cosine, length: 230).ticks.map(\.label), ["0.1", "0.01", "1e-3"])
        // One rate: a decade around it.
        let constant = ChartAxis.logarithmic([0.1, 0.1], length: 230)
        XCTAssertEqual(constant.ticks.map(\.label), ["0.1"])
        XCTAssertEqual(log10(constant.high) - log10(constant.low), 1 + 2 * ChartAxis.padding, accuracy: 1e-9)
    }

    func testCompactLabels() {
        XCTAssertEqual(
            [0.1, 0.05, 0.01, 0.0099999999, 0.005, 0.001, 0.00025, 1e-6, 0.1 * 0.1, 2.5, 0].map(ChartAxis.compactLabel),
            ["0.1", "0.05", "0.01", "1e-2", "5e-3", "1e-3", "2.5e-4", "1e-6", "0.01", "2.5", "0"])
    }

    func testSingleEpochDrawsItsPoints() throws {
        let directory = try temporaryDirectory("single")
        try writeRun(directory, accuracies: [0.91])
        let svg = try document(try MetricsPlot(runDirectory: directory).chart)
        let points = try nodes(svg, "//*[local-name()='circle'][@class='point']").compactMap {
            attribute($0, "data-series")
        }
        XCTAssertEqual(Set(points), ["train_loss", "val_loss", "train_accuracy", "val_accuracy"])
        XCTAssertEqual(try nodes(svg, "//*[local-name()='circle'][@data-series='val_accuracy']").count, 1)
        let ticks = try nodes(svg, "//*[@id='panel-0']/*[@class='x-axis']/*[local-name()='text']").compactMap(
            \.stringValue)
        XCTAssertEqual(ticks, ["0", "1", "epoch"], "whole epochs")
        XCTAssertEqual(try yTicks(svg, panel: 2), ["0.1"])
    }

    func testBestEpochIsMarkedTiesToTheEarliest() throws {
        let directory = try temporaryDirectory("best")
        try writeRun(directory, accuracies: [0.9, 0.97, 0.95, 0.97])
        let plot = try MetricsPlot(runDirectory: directory)
        XCTAssertEqual(plot.bestEpoch?.epoch, 2)
        let svg = try document(plot.chart)
        let marks = try nodes(svg, "//*[local-name()='g'][contains(@class, 'best-epoch')]")
        XCTAssertEqual(marks.count, 1)
        XCTAssertEqual(marks.first.flatMap { attribute($0, "data-x") }, "2.0")
        XCTAssertEqual(marks.first.flatMap { attribute($0, "data-y") }.flatMap(Double.init) ?? 0, 97, accuracy: 1e-9)
        XCTAssertEqual((marks.first?.parent as? XMLElement).flatMap { attribute($0, "id") }, "panel-1", "on accuracy")
        XCTAssertEqual(
            try nodes(svg, "//*[contains(@class, 'highlight-label')]").compactMap(\.stringValue),
            ["best 97.00% (epoch 2)"])
    }

    func testNoBestEpochWithoutValidation() throws {
        let directory = try temporaryDirectory("no-validation")
        let line =
            "{\"epoch\":1,\"step\":10,\"lr\":0.1,\"train_loss\":1,\"train_accuracy\":0.5,\"val_loss\":null,"
            + "\"val_accuracy\":null,\"images_per_sec\":1,\"time\":1}\n"
        try line.write(toFile: directory + "/metrics.jsonl", atomically: true, encoding: .utf8)
        let plot = try MetricsPlot(runDirectory: directory)
        XCTAssertNil(plot.bestEpoch)
        XCTAssertEqual(try nodes(try document(plot.chart), "//*[contains(@class, 'best-epoch')]").count, 0)
    }

    func testComparisonDrawsEachRunWithItsLegend() throws {
        let root = try temporaryDirectory("compare")
        let accuracies = [[0.9, 0.95, 0.97], [0.88, 0.93, 0.96, 0.975], [0.91, 0.94]]
        for (index, values) in accuracies.enumerated() { try writeRun(root + "/run-\(index)", accuracies: values) }
        let comparison = try MetricsComparison(runDirectories: (0..<3).map { root + "/run-\($0)" })
        XCTAssertEqual(comparison.names, ["run-0", "run-1", "run-2"])
        let svg = try document(comparison.chart)
        let validation = try nodes(
            svg, "//*[@id='panel-1']//*[local-name()='polyline'][contains(@data-series, '/val_accuracy')]")
        XCTAssertEqual(
            validation.compactMap { attribute($0, "data-series") },
            ["run-0/val_accuracy", "run-1/val_accuracy", "run-2/val_accuracy"])
        XCTAssertEqual(validation.map { attribute($0, "points")?.split(separator: " ").count }, [3, 4, 2])
        XCTAssertEqual(Set(validation.compactMap { attribute($0, "stroke") }).count, 3, "a colour a run")
        for panel in 0..<3 {
            let entries = try nodes(svg, "//*[@id='panel-\(panel)']//*[contains(@class, 'legend-entry')]")
            XCTAssertEqual(entries.compactMap { attribute($0, "data-series") }, ["run-0", "run-1", "run-2"])
        }
        let details = try nodes(svg, "//*[contains(@class, 'legend-detail')]").compactMap(\.stringValue)
        XCTAssertEqual(details, ["best 97.00% (epoch 3)", "best 97.50% (epoch 4)", "best 94.00% (epoch 2)"])
        XCTAssertEqual(try nodes(svg, "//*[contains(@class, 'best-epoch')]").count, 3)
        XCTAssertEqual(try nodes(svg, "//*[local-name()='polyline'][@stroke-dasharray]").count, 6, "train dashed")
    }

    func testComparisonNamesTellRunsApart() {
        XCTAssertEqual(MetricsComparison.names(["runs/a", "runs/b/"]), ["a", "b"])
        XCTAssertEqual(MetricsComparison.names(["/x/run", "/y/run"]), ["x/run", "y/run"])
        XCTAssertEqual(MetricsComparison.names(["/x/run", "/x/run"]), ["/x/run", "/x/run"])
    }

    func testComparisonNamesTheUnreadableRun() throws {
        let root = try temporaryDirectory("compare-bad")
        try writeRun(root + "/good", accuracies: [0.9])
        XCTAssertThrowsError(try MetricsComparison(runDirectories: [root + "/good", root + "/missing"])) {
            XCTAssertEqual(
                "\($0)", "\(root)/missing/metrics.jsonl: no such file; is this a cnn-dist run directory (its run_dir)?")
        }
    }

    func testPNGHasThePNGSignature() throws {
        guard let converter = PNGConverter.find() else {
            throw XCTSkip("skipped: no rsvg-convert, magick or convert on PATH (apt-get install librsvg2-bin)")
        }
        let directory = try temporaryDirectory("png")
        try writeRun(directory, accuracies: [0.9, 0.95, 0.97])
        let svg = try MetricsPlot(runDirectory: directory).write()
        try converter.convert(svg: svg, to: directory + "/metrics.png")
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/metrics.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(converter.path)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
            ["metrics.jsonl", "metrics.png", "metrics.svg"], "no partial file left")
    }

    func testConverterProblemsAreNamed() throws {
        XCTAssertNil(PNGConverter.find(searchPath: ""))
        XCTAssertTrue("\(PNGConversionError.noConverter)".contains("librsvg2-bin"))
        let directory = try temporaryDirectory("converters")
        /// A stand-in `rsvg-convert` running `body`.
        func fake(_ body: String) throws -> PNGConverter {
            let folder = directory + "/bin-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try "#!/bin/sh\n\(body)\n".write(toFile: folder + "/rsvg-convert", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/rsvg-convert")
            let converter = try XCTUnwrap(PNGConverter.find(searchPath: "/nonexistent:" + folder))
            XCTAssertEqual(converter.kind, .rsvgConvert)
            return converter
        }
        let svg = directory + "/in.svg", png = directory + "/out.png"
        try "<svg/>".write(toFile: svg, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try fake("echo 'cannot parse' >&2; exit 3").convert(svg: svg, to: png)) {
            XCTAssertTrue("\($0)".hasPrefix("\(png): "), "\($0)")
            XCTAssertTrue("\($0)".hasSuffix("could not make the PNG: exit status 3: cannot parse"), "\($0)")
        }
        XCTAssertThrowsError(try fake("exit 0").convert(svg: svg, to: png)) {
            XCTAssertTrue("\($0)".hasSuffix("could not make the PNG: it wrote no PNG"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: png))
    }
}
