import Foundation
import TestSupport
import XCTest

@testable import Reports
@testable import Train

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `cnn-dist plot`: a well-formed SVG with every series as a polyline of the right length,
/// markers for plateau drops and resumes, and clear errors for bad metrics files.
final class MetricsPlotTests: XCTestCase {
    /// Four epochs of 10 steps: a plateau drop after epoch 2, a resume at step 25 (in epoch 3).
    func writeRun(_ directory: String, steps: Bool = true) throws {
        var lines: [String] = []
        for epoch in 1...4 {
            var line = "{\"epoch\":\(epoch),\"step\":\(epoch * 10),\"lr\":\(epoch <= 2 ? 0.05 : 0.005),"
                + "\"train_loss\":\(2.0 / Double(epoch)),\"train_accuracy\":\(0.2 * Double(epoch)),"
                + "\"val_loss\":\(2.2 / Double(epoch)),\"val_accuracy\":\(0.18 * Double(epoch)),"
                + "\"images_per_sec\":1000.0,\"time\":\(Double(epoch)),\"val_top5_accuracy\":\(0.5 + 0.1 * Double(epoch))"
            if epoch == 2 { line += ",\"lr_drop\":{\"from\":0.05,\"to\":0.005}" }
            if epoch == 3 { line += ",\"resumed_at_step\":25" }
            lines.append(line + "}")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/metrics.jsonl", atomically: true, encoding: .utf8)
        if steps {
            var records = (1...8).map { i in
                "{\"step\":\(i * 5),\"epoch\":\(Double(i) * 0.5),\"lr\":0.05,\"loss\":\(2.0 / Double(i)),\"accuracy\":0.5,"
                    + "\"images_per_sec\":900.0,\"allreduce_wait_seconds\":0.001,\"time\":\(Double(i) * 0.5)}"
            }
            records.append("{\"step\":20,\"epoch\":2.0,\"val_loss\":1.1,\"val_accuracy\":0.36,\"time\":2.0}")
            try (records.joined(separator: "\n") + "\n").write(toFile: directory + "/steps.jsonl", atomically: true, encoding: .utf8)
        }
    }

    /// An attribute's value (looked up in the list: `attribute(forName:)` misses them under a default namespace on Linux).
    func attribute(_ element: XMLElement, _ name: String) -> String? {
        element.attributes?.first { $0.name == name || $0.localName == name }?.stringValue
    }

    func polylines(_ document: XMLDocument) throws -> [String: Int] {
        let nodes = try document.nodes(forXPath: "//*[local-name()='polyline']")
        var result: [String: Int] = [:]
        for case let element as XMLElement in nodes {
            let name = attribute(element, "data-series") ?? "?"
            let points = (attribute(element, "points") ?? "").split(separator: " ")
            for point in points { XCTAssertEqual(point.split(separator: ",").compactMap { Double($0) }.count, 2, String(point)) }
            result[name] = points.count
        }
        return result
    }

    func testSVGIsWellFormedWithEverySeriesAndMarker() throws {
        let directory = ProcessRunner.temporaryDirectory("plot")
        try writeRun(directory)
        let path = try MetricsPlot(runDirectory: directory).write()
        XCTAssertEqual(path, directory + "/metrics.svg")
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: path), options: [])
        XCTAssertEqual(document.rootElement()?.name, "svg")
        // The per-epoch learning rate is a staircase: two points (start and end) per epoch.
        XCTAssertEqual(try polylines(document), ["train_loss": 4, "val_loss": 4, "train_accuracy": 4, "val_accuracy": 4,
                                                 "val_top5_accuracy": 4, "lr": 8, "step_loss": 8, "step_accuracy": 8, "step_lr": 8])
        // A marker line in each of the three panels; labels in the first.
        let drops = try document.nodes(forXPath: "//*[local-name()='line'][contains(@class, 'lr-drop')]")
        let resumes = try document.nodes(forXPath: "//*[local-name()='line'][contains(@class, 'resume')]")
        XCTAssertEqual(drops.count, 3)
        XCTAssertEqual(resumes.count, 3)
        XCTAssertEqual((drops.first as? XMLElement).flatMap { attribute($0, "data-x") }, "2.0")
        XCTAssertEqual((resumes.first as? XMLElement).flatMap { attribute($0, "data-x") }, "2.5", "step 25 is half-way through epoch 3")
        let labels = try document.nodes(forXPath: "//*[local-name()='text'][contains(@class, 'marker-label')]").map { $0.stringValue ?? "" }
        XCTAssertEqual(labels, ["lr 0.05 → 0.005", "resumed at step 25"])
        // Titles, tick labels and legends are there.
        let texts = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        // The rate axis is ticked at the rates used (0.05, 5e-3) and the decade between them.
        for expected in ["loss", "accuracy (%)", "learning rate (log scale)", "epoch", "validation top-5",
                         "train (steps)", "0.05", "5e-3", "0.01", "best 72.00% (epoch 4)"] {
            XCTAssertTrue(texts.contains(expected), "no text '\(expected)' in \(texts)")
        }
    }

    func testWithoutStepStreamAndCommandLine() throws {
        let directory = ProcessRunner.temporaryDirectory("plot-cli")
        try writeRun(directory, steps: false)
        let output = directory + "/out.svg"
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["plot", directory, "-o", output], timeout: 60)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.output, "\(output): 4 epoch(s), 2 marker(s)\n")
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: output), options: [])
        XCTAssertEqual(try polylines(document).keys.sorted(),
                       ["lr", "train_accuracy", "train_loss", "val_accuracy", "val_loss", "val_top5_accuracy"])
    }

    func testBadMetricsFilesNameFileAndLine() throws {
        let directory = ProcessRunner.temporaryDirectory("plot-bad")
        let metrics = directory + "/metrics.jsonl", steps = directory + "/steps.jsonl"
        /// Writes the files given (nil: absent) and checks the error `MetricsPlot` throws.
        func assertError(metrics metricsText: String?, steps stepsText: String? = nil, _ expected: String, line: UInt = #line) throws {
            for (path, text) in [(metrics, metricsText), (steps, stepsText)] {
                try? FileManager.default.removeItem(atPath: path)
                try text?.write(toFile: path, atomically: true, encoding: .utf8)
            }
            XCTAssertThrowsError(try MetricsPlot(runDirectory: directory), line: line) { XCTAssertEqual("\($0)", expected, line: line) }
        }
        try assertError(metrics: nil, "\(metrics): no such file; is this a cnn-dist run directory (its run_dir)?")
        try assertError(metrics: "\n", "\(metrics) holds no records: the run has not finished an epoch yet")
        try assertError(metrics: "{\"epoch\":1,\"step\":10}\n{\"epoch\":2,\"st", "\(metrics):2: not a JSON object: {\"epoch\":2,\"st")
        try assertError(metrics: "{\"epoch\":1,\"step\":10}\n{\"epoch\":\"two\",\"step\":20}\n",
                        "\(metrics):2: 'epoch' is missing or not a number")
        try assertError(metrics: "{\"epoch\":1,\"step\":10}\n", steps: "{\"step\":5,\"epoch\":0.5}\n[1]\n",
                        "\(steps):2: not a JSON object: [1]")
        let result = try ProcessRunner.run(ProcessRunner.product("cnn-dist"), ["plot", directory + "/none"], timeout: 60)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.error, "error: \(directory)/none/metrics.jsonl: no such file; is this a cnn-dist run directory (its run_dir)?\n")
    }

    func testTicks() {
        XCTAssertEqual(ChartAxis.ticks((0, 10)), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(ChartAxis.ticks((0.03, 2.2)), [0, 0.5, 1, 1.5, 2, 2.5])
    }
}
