import Foundation

/// Line charts stacked in one SVG document: panels sharing an x axis, each with its series,
/// tick labels, a legend, labelled vertical markers and highlighted points. Standalone SVG 1.1
/// that browsers open and rsvg-convert renders.
public struct SVGChart {
    public struct Series {
        public var name: String
        public var label: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        /// Drawn thin and translucent behind the others (per-step streams), and clipped to the range
        /// the others set: a first steps' loss of 2.3 does not flatten an epoch loss of 0.05.
        public var faint = false
        public var dashed = false
        /// A dot on each point, so that a run of a single epoch shows (up to `SVGChart.dottedUpTo` points).
        public var showsPoints = false

        public init(
            name: String, label: String, color: String, points: [(x: Double, y: Double)], faint: Bool = false,
            dashed: Bool = false, showsPoints: Bool = false
        ) {
            self.name = name
            self.label = label
            self.color = color
            self.points = points
            self.faint = faint
            self.dashed = dashed
            self.showsPoints = showsPoints
        }
    }

    /// A vertical line across every panel at `x`, labelled in the first.
    public struct Marker {
        /// What it marks (`lr-drop`, `resume`): the element's class.
        public var kind: String
        public var x: Double
        public var label: String
        public var color: String

        public init(kind: String, x: Double, label: String, color: String) {
            self.kind = kind
            self.x = x
            self.label = label
            self.color = color
        }
    }

    /// A ringed point with a label (the best epoch); an empty label draws the ring only.
    public struct Highlight {
        /// What it marks (`best-epoch`): the element's class.
        public var kind: String
        public var x: Double
        public var y: Double
        public var label: String
        public var color: String

        public init(kind: String, x: Double, y: Double, label: String, color: String) {
            self.kind = kind
            self.x = x
            self.y = y
            self.label = label
            self.color = color
        }
    }

    /// A row of a panel's legend: a line in the series' style, its label and a smaller second line.
    public struct LegendEntry {
        public var label: String
        public var detail: String?
        public var color: String
        public var dashed = false
        public var faint = false
        /// The series it names; nil for a key that explains a style (dashed: train).
        public var seriesName: String?

        public init(
            label: String, detail: String? = nil, color: String, dashed: Bool = false, faint: Bool = false,
            seriesName: String? = nil
        ) {
            self.label = label
            self.detail = detail
            self.color = color
            self.dashed = dashed
            self.faint = faint
            self.seriesName = seriesName
        }

        init(_ series: Series) {
            self.init(
                label: series.label, color: series.color, dashed: series.dashed, faint: series.faint,
                seriesName: series.name)
        }
    }

    public struct Panel {
        public var title: String
        public var series: [Series]
        public var logScale = false
        public var highlights: [Highlight] = []
        /// Rows of the legend; by default one per series.
        public var legend: [LegendEntry]

        public init(
            title: String, series: [Series], logScale: Bool = false, highlights: [Highlight] = [],
            legend: [LegendEntry]? = nil
        ) {
            self.title = title
            self.series = series
            self.logScale = logScale
            self.highlights = highlights
            self.legend = legend ?? series.map(LegendEntry.init)
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var markers: [Marker]

    public init(title: String, xLabel: String, panels: [Panel], markers: [Marker]) {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
        self.markers = markers
    }

    static let width = 900.0, panelHeight = 230.0, top = 40.0, gap = 60.0
    static let left = 70.0, right = 190.0
    static let plotWidth = width - left - right
    /// Longer series are drawn as lines only: hundreds of dots would blur into a thick line.
    static let dottedUpTo = 60
    /// Legend labels beyond this many characters keep their end (run folder names differ there).
    static let legendCharacters = 24

    /// Epochs from 0, whole ticks, a little room after the last point.
    var xAxis: ChartAxis {
        let series = panels.flatMap(\.series).flatMap { $0.points.map(\.x) }
        let others = markers.map(\.x) + panels.flatMap(\.highlights).map(\.x)
        return ChartAxis.linear([0] + series + others, padding: 0.02, minimumStep: 1)
    }

    /// The range of the panel's solid series and highlights. Faint ones count only where no solid
    /// series has two points: then (a single epoch) the steps are the curve worth seeing.
    static func yAxis(_ panel: Panel) -> ChartAxis {
        func values(_ series: [Series]) -> [Double] {
            series.flatMap { $0.points.filter { $0.x.isFinite }.map(\.y) }.filter(\.isFinite)
        }
        let solid = panel.series.filter { !$0.faint }
        var ys = values(solid) + panel.highlights.map(\.y)
        if !solid.contains(where: { $0.points.count >= 2 }) { ys += values(panel.series.filter(\.faint)) }
        return panel.logScale ? .logarithmic(ys, length: panelHeight) : .linear(ys)
    }

    public var svg: String {
        let height = SVGChart.top + Double(panels.count) * (SVGChart.panelHeight + SVGChart.gap)
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(f(SVGChart.width))" height="\(f(height))" \
            viewBox="0 0 \(f(SVGChart.width)) \(f(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(SVGChart.width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        let xAxis = self.xAxis
        for (index, panel) in panels.enumerated() {
            out += PanelDrawing(chart: self, index: index, panel: panel, xAxis: xAxis).svg
        }
        return out + "</svg>\n"
    }

    /// One panel's elements, from the frame up: grid and ticks, markers, series, highlights, legend.
    private struct PanelDrawing {
        let chart: SVGChart
        let index: Int
        let panel: Panel
        let xAxis: ChartAxis
        let yAxis: ChartAxis
        let top: Double
        let bottom: Double

        init(chart: SVGChart, index: Int, panel: Panel, xAxis: ChartAxis) {
            self.chart = chart
            self.index = index
            self.panel = panel
            self.xAxis = xAxis
            yAxis = SVGChart.yAxis(panel)
            top = SVGChart.top + Double(index) * (SVGChart.panelHeight + SVGChart.gap)
            bottom = top + SVGChart.panelHeight
        }

        func px(_ x: Double) -> Double? { xAxis.position(x).map { SVGChart.left + $0 * SVGChart.plotWidth } }
        func py(_ y: Double) -> Double? { yAxis.position(y).map { bottom - $0 * SVGChart.panelHeight } }

        var svg: String {
            let left = SVGChart.left, right = SVGChart.left + SVGChart.plotWidth
            var out = "<g class=\"panel\" id=\"panel-\(index)\">\n"
            out +=
                "<clipPath id=\"clip-\(index)\"><rect x=\"\(f(left))\" y=\"\(f(top))\" "
                + "width=\"\(f(SVGChart.plotWidth))\" height=\"\(f(SVGChart.panelHeight))\"/></clipPath>\n"
            out +=
                "<text class=\"panel-title\" x=\"\(f(left))\" y=\"\(f(top - 8))\" font-size=\"13\" "
                + "font-weight=\"bold\">\(escape(panel.title))</text>\n"
            out += "<g class=\"y-axis\">\n"
            for tick in yAxis.ticks {
                guard let y = py(tick.value) else { continue }
                out += line(left, y, right, y, stroke: "#ddd")
                out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(tick.label))</text>\n"
            }
            out += "</g>\n<g class=\"x-axis\">\n"
            for tick in xAxis.ticks {
                guard let x = px(tick.value) else { continue }
                out += line(x, top, x, bottom, stroke: "#eee")
                out +=
                    "<text x=\"\(f(x))\" y=\"\(f(bottom + 15))\" text-anchor=\"middle\">\(escape(tick.label))</text>\n"
            }
            out +=
                "<text x=\"\(f(left + SVGChart.plotWidth / 2))\" y=\"\(f(bottom + 32))\" "
                + "text-anchor=\"middle\">\(escape(chart.xLabel))</text>\n</g>\n"
            out += markers + series + highlights
            out +=
                "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(SVGChart.plotWidth))\" "
                + "height=\"\(f(SVGChart.panelHeight))\" fill=\"none\" stroke=\"#444\"/>\n"
            return out + legend + "</g>\n"
        }

        func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String) -> String {
            "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\"/>"
        }

        /// Dashed vertical lines; their labels, rotated, in the first panel.
        var markers: String {
            var out = ""
            for marker in chart.markers {
                guard let x = px(marker.x) else { continue }
                out +=
                    "<line class=\"marker \(marker.kind)\" data-x=\"\(marker.x)\" x1=\"\(f(x))\" y1=\"\(f(top))\" "
                    + "x2=\"\(f(x))\" y2=\"\(f(bottom))\" stroke=\"\(marker.color)\" stroke-dasharray=\"5,3\"/>\n"
                if index == 0 {
                    out +=
                        "<text class=\"marker-label \(marker.kind)\" x=\"\(f(x + 3))\" y=\"\(f(top + 12))\" "
                        + "fill=\"\(marker.color)\" font-size=\"10\" \(halo) "
                        + "transform=\"rotate(90 \(f(x + 3)) \(f(top + 12)))\">\(escape(marker.label))</text>\n"
                }
            }
            return out
        }

        /// Faint series first, behind; every line clipped to the panel (faint ones reach beyond it).
        var series: String {
            var out = "<g class=\"data\" clip-path=\"url(#clip-\(index))\">\n"
            var dots = ""
            for series in panel.series.filter(\.faint) + panel.series.filter({ !$0.faint }) {
                let points = series.points.compactMap { point in
                    px(point.x).flatMap { x in py(point.y).map { (x, $0) } }
                }
                let coordinates = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                out +=
                    "<polyline class=\"series\" data-series=\"\(escape(series.name))\" fill=\"none\" "
                    + "stroke=\"\(series.color)\" \(style(faint: series.faint, dashed: series.dashed)) "
                    + "stroke-linejoin=\"round\" points=\"\(coordinates)\"/>\n"
                guard series.showsPoints, points.count <= SVGChart.dottedUpTo || points.count == 1 else { continue }
                for (x, y) in points {
                    dots +=
                        "<circle class=\"point\" data-series=\"\(escape(series.name))\" cx=\"\(f(x))\" "
                        + "cy=\"\(f(y))\" r=\"\(points.count == 1 ? 4 : 2.5)\" fill=\"\(series.color)\"/>\n"
                }
            }
            return out + "</g>\n" + dots
        }

        /// Rings with labels placed inside the frame: below the point (the best validation accuracy
        /// has the training curve above it), or above it near the bottom.
        var highlights: String {
            var out = ""
            let left = SVGChart.left, right = SVGChart.left + SVGChart.plotWidth
            for highlight in panel.highlights {
                guard let x = px(highlight.x), let y = py(highlight.y) else { continue }
                out += "<g class=\"highlight \(highlight.kind)\" data-x=\"\(highlight.x)\" data-y=\"\(highlight.y)\">"
                out +=
                    "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"6\" fill=\"none\" stroke=\"\(highlight.color)\" "
                    + "stroke-width=\"2\"/>"
                if !highlight.label.isEmpty {
                    let anchor = x > right - 90 ? "end" : x < left + 90 ? "start" : "middle"
                    let labelY = y + 22 > bottom - 4 ? y - 11 : y + 22
                    out +=
                        "<text class=\"highlight-label\" x=\"\(f(x))\" y=\"\(f(labelY))\" text-anchor=\"\(anchor)\" "
                        + "fill=\"\(highlight.color)\" font-size=\"11\" \(halo)>\(escape(highlight.label))</text>"
                }
                out += "</g>\n"
            }
            return out
        }

        /// Rows at the right of the panel; a row with a detail line takes two.
        var legend: String {
            var out = "<g class=\"legend\">\n"
            let x = SVGChart.left + SVGChart.plotWidth + 14
            var y = top + 14
            for entry in panel.legend {
                let kind = entry.seriesName == nil ? "legend-key" : "legend-entry"
                let series = entry.seriesName.map { " data-series=\"\(escape($0))\"" } ?? ""
                out += "<g class=\"\(kind)\"\(series)>"
                out +=
                    "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 22))\" y2=\"\(f(y - 4))\" "
                    + "stroke=\"\(entry.color)\" \(style(faint: entry.faint, dashed: entry.dashed))/>"
                out += "<text x=\"\(f(x + 28))\" y=\"\(f(y))\">\(escape(fitted(entry.label)))</text>"
                if let detail = entry.detail {
                    y += 13
                    out +=
                        "<text class=\"legend-detail\" x=\"\(f(x + 28))\" y=\"\(f(y))\" font-size=\"10\" "
                        + "fill=\"#555\">\(escape(fitted(detail)))</text>"
                }
                out += "</g>\n"
                y += 18
            }
            return out + "</g>\n"
        }

        func style(faint: Bool, dashed: Bool) -> String {
            (faint ? "stroke-width=\"1\" stroke-opacity=\"0.35\"" : "stroke-width=\"2\"")
                + (dashed ? " stroke-dasharray=\"6,4\"" : "")
        }

        /// A label too long for the legend keeps its end.
        func fitted(_ text: String) -> String {
            text.count <= SVGChart.legendCharacters ? text : "…" + text.suffix(SVGChart.legendCharacters - 1)
        }

        /// A white outline behind text that crosses lines, so it stays legible.
        var halo: String { "stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\"" }
    }
}

private func f(_ value: Double) -> String { String(format: "%.1f", value) }

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
