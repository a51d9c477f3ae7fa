import Foundation

/// One axis of an `SVGChart`: the span of values it shows and its labelled ticks, linear or
/// logarithmic. Positions are fractions of the axis's length, 0 at the low end.
public struct ChartAxis {
    public var low: Double
    public var high: Double
    public var logarithmic: Bool
    public var ticks: [(value: Double, label: String)]

    /// The fraction of the axis at which `value` lies; nil where it cannot be drawn (not a number,
    /// or not positive on a log axis). Values outside the span lie outside 0…1.
    public func position(_ value: Double) -> Double? {
        guard value.isFinite, !logarithmic || value > 0 else { return nil }
        let v = logarithmic ? log10(value) : value
        let (a, b) = logarithmic ? (log10(low), log10(high)) : (low, high)
        return (v - a) / max(b - a, 1e-12)
    }

    /// Share of the span added beyond the data at each end, so no point sits on the frame.
    public static let padding = 0.06

    /// The span of `values` padded a little (a share of it), with round ticks inside it. A span
    /// that begins at or above zero is not padded below zero (loss, accuracy). `minimumStep`: 1 for epochs.
    public static func linear(_ values: [Double], padding: Double = padding, minimumStep: Double = 0) -> ChartAxis {
        let finite = values.filter(\.isFinite)
        let range = ChartAxis.range(finite)
        let pad = (range.high - range.low) * padding
        let low = range.low >= 0 ? max(range.low - pad, 0) : range.low - pad, high = range.high + pad
        // Ticks spaced for the data's span; the padding only adds room.
        let inside = ticks(range, minimumStep: minimumStep).filter { $0 >= low - 1e-9 && $0 <= high + 1e-9 }
        return ChartAxis(low: low, high: high, logarithmic: false, ticks: inside.map { ($0, label($0)) })
    }

    /// A log scale over the positive `values`, at least a decade tall. Ticked at each distinct
    /// value when there are at most `distinctTicksUpTo` of them (a learning rate's plateaus or
    /// steps: the ticks name the rates used), and at powers of ten where those leave room; a
    /// value closer than `spacing` to a tick already placed is not ticked, so labels never overlap.
    public static func logarithmic(
        _ values: [Double], length: Double, spacing: Double = 14,
        distinctTicksUpTo: Int = 10
    ) -> ChartAxis {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        let logs = positive.map { log10($0) }
        var low = logs.min() ?? -3, high = logs.max() ?? 0
        if high - low < 1 { (low, high) = ((low + high) / 2 - 0.5, (low + high) / 2 + 0.5) }
        let pad = (high - low) * padding
        (low, high) = (low - pad, high + pad)
        let axis = ChartAxis(low: pow(10, low), high: pow(10, high), logarithmic: true, ticks: [])

        let distinct = ChartAxis.distinct(positive)
        let decades = stride(from: ceil(low), through: floor(high), by: 1).map { pow(10, $0) }
        let candidates = (distinct.count <= distinctTicksUpTo ? distinct.sorted(by: >) : []) + decades.reversed()
        var placed: [(value: Double, at: Double)] = []
        for value in candidates {
            guard let at = axis.position(value) else { continue }
            if placed.allSatisfy({ abs(($0.at - at) * length) >= spacing }) { placed.append((value, at)) }
        }
        let ticks = placed.map(\.value).sorted(by: >).map { (value: $0, label: compactLabel($0)) }
        return ChartAxis(low: axis.low, high: axis.high, logarithmic: true, ticks: ticks)
    }

    /// Values with those equal to 9 significant digits merged (0.1 × 0.1 is 0.010000000000000002).
    static func distinct(_ values: [Double]) -> [Double] {
        var result: [Double] = []
        for value in values where !result.contains(where: { abs($0 - value) <= 1e-9 * max(abs($0), abs(value)) }) {
            result.append(value)
        }
        return result
    }

    /// The values' span, widened when it is empty or a single value.
    static func range(_ values: [Double], includeZero: Bool = false) -> (low: Double, high: Double) {
        guard var low = values.min(), var high = values.max() else { return (0, 1) }
        if includeZero { low = min(low, 0) }
        if high - low < 1e-12 { (low, high) = (low - max(abs(low) * 0.1, 0.5), high + max(abs(high) * 0.1, 0.5)) }
        return (low, high)
    }

    /// About six round ticks (1, 2 or 5 × 10ⁿ apart, at least `minimumStep`) covering the range.
    static func ticks(_ range: (low: Double, high: Double), minimumStep: Double = 0) -> [Double] {
        let rough = (range.high - range.low) / 6
        let magnitude = pow(10, floor(log10(rough)))
        let step = max([1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude, minimumStep)
        let first = floor(range.low / step), last = ceil(range.high / step)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func label(_ value: Double) -> String {
        String(format: "%g", abs(value) < 1e-12 ? 0 : value)
    }

    /// Short labels for rates: 0.1, 0.05, 0.01, then 5e-3, 1e-3, 2.5e-4 (three significant digits).
    static func compactLabel(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude < 1e-300 { return "0" }
        if magnitude >= 0.01 && magnitude < 1e5 { return String(format: "%.3g", value) }
        var exponent = Int(floor(log10(magnitude)))
        var mantissa = String(format: "%.3g", value / pow(10, Double(exponent)))
        if mantissa == "10" || mantissa == "-10" {
            mantissa = mantissa == "10" ? "1" : "-1"
            exponent += 1
        }
        return "\(mantissa)e\(exponent)"
    }
}
