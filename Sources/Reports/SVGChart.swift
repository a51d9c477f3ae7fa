import Foundation

/// Line charts stacked in one SVG document: panels sharing an x axis, each with its series,
/// tick labels, a legend and labelled vertical markers. Standalone SVG 1.1 that browsers open.
public struct SVGChart {
    public struct Series {
        public var name: String
        public var label: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        /// Drawn thin and translucent behind the others (per-step streams).
        public var faint = false

        public init(name: String, label: String, color: String, points: [(x: Double, y: Double)], faint: Bool = false) {
            self.name = name
            self.label = label
            self.color = color
            self.points = points
            self.faint = faint
        }
    }

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

    public struct Panel {
        public var title: String
        public var series: [Series]
        public var logScale = false

        public init(title: String, series: [Series], logScale: Bool = false) {
            self.title = title
            self.series = series
            self.logScale = logScale
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    /// Drawn across every panel; labelled in the first.
    public var markers: [Marker]

    public init(title: String, xLabel: String, panels: [Panel], markers: [Marker]) {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
        self.markers = markers
    }

    static let width = 900.0, panelHeight = 230.0, top = 40.0, gap = 60.0
    static let left = 70.0, right = 190.0

    public var svg: String {
        let plotWidth = SVGChart.width - SVGChart.left - SVGChart.right
        let height = SVGChart.top + Double(panels.count) * (SVGChart.panelHeight + SVGChart.gap)
        let allX = panels.flatMap { $0.series.flatMap { $0.points.map(\.x) } } + markers.map(\.x)
        let xRange = SVGChart.range(allX.filter(\.isFinite), includeZero: true)
        let xTicks = SVGChart.ticks(xRange)
        let xDomain = (min(xRange.low, xTicks.first ?? xRange.low), max(xRange.high, xTicks.last ?? xRange.high))
        func px(_ x: Double) -> Double { SVGChart.left + (x - xDomain.0) / max(xDomain.1 - xDomain.0, 1e-12) * plotWidth }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(f(SVGChart.width))" height="\(f(height))" \
        viewBox="0 0 \(f(SVGChart.width)) \(f(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(SVGChart.width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        for (index, panel) in panels.enumerated() {
            out += self.panel(index, panel, xTicks: xTicks, px: px)
        }
        return out + "</svg>\n"
    }

    /// A panel's y ticks and the domain they span (powers of ten on a log scale).
    static func yScale(_ panel: Panel) -> (ticks: [Double], domain: (Double, Double)) {
        let values = panel.series.flatMap { $0.points.map(\.y) }.filter { $0.isFinite && (!panel.logScale || $0 > 0) }
        if panel.logScale {
            let logs = values.map { log10($0) }
            let low = floor(logs.min() ?? -3), high = ceil(logs.max() ?? 0)
            let domain = (low, high > low ? high : low + 1)
            return (stride(from: domain.0, through: domain.1, by: 1).map { $0 }, domain)
        }
        let range = SVGChart.range(values, includeZero: false)
        let ticks = SVGChart.ticks(range)
        return (ticks, (min(range.low, ticks.first ?? range.low), max(range.high, ticks.last ?? range.high)))
    }

    /// One panel: frame, axes with ticks, markers (labelled in the first panel), series, legend.
    private func panel(_ index: Int, _ panel: Panel, xTicks: [Double], px: (Double) -> Double) -> String {
        let plotWidth = SVGChart.width - SVGChart.left - SVGChart.right
        var out = ""
        let y0 = SVGChart.top + Double(index) * (SVGChart.panelHeight + SVGChart.gap)
        let (yTicks, yDomain) = SVGChart.yScale(panel)
        func py(_ value: Double) -> Double {
            let v = panel.logScale ? log10(value) : value
            return y0 + SVGChart.panelHeight - (v - yDomain.0) / max(yDomain.1 - yDomain.0, 1e-12) * SVGChart.panelHeight
        }
        out += "<g class=\"panel\" id=\"panel-\(index)\">\n"
        out += "<text class=\"panel-title\" x=\"\(f(SVGChart.left))\" y=\"\(f(y0 - 8))\" font-size=\"13\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
        out += "<rect x=\"\(f(SVGChart.left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(SVGChart.panelHeight))\" fill=\"none\" stroke=\"#444\"/>\n"
        out += "<g class=\"y-axis\">\n"
        for tick in yTicks {
            let y = py(panel.logScale ? pow(10, tick) : tick)
            out += "<line x1=\"\(f(SVGChart.left))\" y1=\"\(f(y))\" x2=\"\(f(SVGChart.left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(f(SVGChart.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">"
            out += "\(escape(panel.logScale ? SVGChart.label(pow(10, tick)) : SVGChart.label(tick)))</text>\n"
        }
        out += "</g>\n<g class=\"x-axis\">\n"
        for tick in xTicks {
            let x = px(tick), bottom = y0 + SVGChart.panelHeight
            out += "<line x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(bottom))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(f(x))\" y=\"\(f(bottom + 15))\" text-anchor=\"middle\">\(escape(SVGChart.label(tick)))</text>\n"
        }
        out += "<text x=\"\(f(SVGChart.left + plotWidth / 2))\" y=\"\(f(y0 + SVGChart.panelHeight + 32))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "</g>\n"
        for marker in markers {
            let x = px(marker.x)
            out += "<line class=\"marker \(marker.kind)\" data-x=\"\(marker.x)\" x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" "
                + "y2=\"\(f(y0 + SVGChart.panelHeight))\" stroke=\"\(marker.color)\" stroke-dasharray=\"5,3\"/>\n"
            if index == 0 {
                out += "<text class=\"marker-label \(marker.kind)\" x=\"\(f(x + 3))\" y=\"\(f(y0 + 12))\" fill=\"\(marker.color)\" "
                    + "font-size=\"10\" transform=\"rotate(90 \(f(x + 3)) \(f(y0 + 12)))\">\(escape(marker.label))</text>\n"
            }
        }
        let ordered = panel.series.filter(\.faint) + panel.series.filter { !$0.faint }
        for series in ordered {
            let points = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!panel.logScale || $0.y > 0) }
            let coordinates = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let style = series.faint ? "stroke-width=\"1\" stroke-opacity=\"0.35\"" : "stroke-width=\"2\""
            out += "<polyline class=\"series\" data-series=\"\(escape(series.name))\" fill=\"none\" stroke=\"\(series.color)\" "
                + "\(style) points=\"\(coordinates)\"/>\n"
        }
        out += "<g class=\"legend\">\n"
        for (row, series) in panel.series.enumerated() {
            let x = SVGChart.left + plotWidth + 14, y = y0 + 14 + Double(row) * 18
            out += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 22))\" y2=\"\(f(y - 4))\" stroke=\"\(series.color)\" "
                + "stroke-width=\"\(series.faint ? 1 : 2)\"\(series.faint ? " stroke-opacity=\"0.35\"" : "")/>"
            out += "<text x=\"\(f(x + 28))\" y=\"\(f(y))\">\(escape(series.label))</text>\n"
        }
        out += "</g>\n</g>\n"
        return out
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The values' span, widened when it is empty or a single value.
    static func range(_ values: [Double], includeZero: Bool) -> (low: Double, high: Double) {
        guard var low = values.min(), var high = values.max() else { return (0, 1) }
        if includeZero { low = min(low, 0) }
        if high - low < 1e-12 { (low, high) = (low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)) }
        return (low, high)
    }

    /// About five round ticks (1, 2 or 5 × 10ⁿ apart) covering the range.
    static func ticks(_ range: (low: Double, high: Double)) -> [Double] {
        let rough = (range.high - range.low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = floor(range.low / step), last = ceil(range.high / step)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func label(_ value: Double) -> String {
        let text = String(format: "%g", abs(value) < 1e-12 ? 0 : value)
        return text
    }
}
