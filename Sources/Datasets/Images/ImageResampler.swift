/// Resizes (a window of) an 8-bit HWC image with Pillow's antialiased bilinear filter in
/// Pillow's integer arithmetic: a horizontal pass, rounded to 8 bits, then a vertical one,
/// each skipped where Pillow skips it. Output pixels outside the wanted window are never
/// computed, so "resize to 256, then crop 224" costs only the 224x224 pixels kept.
/// One resampler per thread: it keeps its coefficient tables and intermediate rows.
public final class ImageResampler {
    private var columns = ResampleCoefficients(), rows = ResampleCoefficients()
    private var intermediate: [UInt8] = []
    private var accumulators: [Int32] = []

    public init() {}

    /// One axis of a resampling: source positions `box` (relative to source index `origin`)
    /// go to `outputSize` pixels, of which `outputs` are kept; taps stay inside `bounds`.
    public struct Axis: Equatable, Sendable {
        public var box: ClosedRange<Double>
        public var origin: Int
        public var bounds: Range<Int>
        public var outputSize: Int
        public var outputs: Range<Int>

        public init(box: ClosedRange<Double>, origin: Int, bounds: Range<Int>, outputSize: Int, outputs: Range<Int>) {
            self.box = box
            self.origin = origin
            self.bounds = bounds
            self.outputSize = outputSize
            self.outputs = outputs
        }

        /// Pillow resamples an axis unless the output equals the source (`bounds`) exactly.
        var isIdentity: Bool {
            outputSize == bounds.count && box.lowerBound == 0 && box.upperBound == Double(outputSize)
                && origin == bounds.lowerBound
        }
    }

    /// Writes `outputs.count` columns × `outputs.count` rows × channels (HWC) to `target`.
    public func resample(
        _ image: DecodedImage, horizontal: Axis, vertical: Axis, into target: UnsafeMutablePointer<UInt8>
    ) {
        let channels = image.channels
        let width = horizontal.outputs.count, height = vertical.outputs.count
        // Source rows the vertical pass reads.
        let sourceRows: Range<Int>
        if vertical.isIdentity {
            sourceRows =
                (vertical.origin + vertical.outputs.lowerBound)..<(vertical.origin + vertical.outputs.upperBound)
        } else {
            rows.compute(
                box: vertical.box, outputSize: vertical.outputSize, outputs: vertical.outputs,
                origin: vertical.origin, bounds: vertical.bounds)
            let low = rows.first.min().map(Int.init) ?? 0
            let high = zip(rows.first, rows.counts).map { Int($0) + Int($1) }.max() ?? low
            sourceRows = low..<max(low, high)
        }
        let rowLength = width * channels
        if intermediate.count < sourceRows.count * rowLength {
            intermediate = [UInt8](repeating: 0, count: sourceRows.count * rowLength)
        }
        image.pixels.withUnsafeBufferPointer { source in
            intermediate.withUnsafeMutableBufferPointer { middle in
                guard let source = source.baseAddress, let middle = middle.baseAddress else { return }
                horizontalPass(
                    source, width: image.width, channels: channels, rows: sourceRows,
                    axis: horizontal, into: middle)
                if vertical.isIdentity {
                    target.update(from: middle, count: height * rowLength)
                } else {
                    verticalPass(
                        middle, firstRow: sourceRows.lowerBound, rowLength: rowLength,
                        outputRows: height, into: target)
                }
            }
        }
    }

    private func horizontalPass(
        _ source: UnsafePointer<UInt8>, width sourceWidth: Int, channels: Int, rows sourceRows: Range<Int>,
        axis: Axis, into middle: UnsafeMutablePointer<UInt8>
    ) {
        let outputWidth = axis.outputs.count, rowLength = outputWidth * channels
        if axis.isIdentity {
            let firstColumn = axis.origin + axis.outputs.lowerBound
            for (row, sourceRow) in sourceRows.enumerated() {
                middle.advanced(by: row * rowLength)
                    .update(from: source + (sourceRow * sourceWidth + firstColumn) * channels, count: rowLength)
            }
            return
        }
        columns.compute(
            box: axis.box, outputSize: axis.outputSize, outputs: axis.outputs, origin: axis.origin,
            bounds: axis.bounds)
        let taps = columns.taps, half = Int32(1 << (ResampleCoefficients.precisionBits - 1))
        columns.first.withUnsafeBufferPointer { first in
            columns.counts.withUnsafeBufferPointer { counts in
                columns.weights.withUnsafeBufferPointer { weights in
                    guard let weights = weights.baseAddress else { return }
                    for (row, sourceRow) in sourceRows.enumerated() {
                        let input = source + sourceRow * sourceWidth * channels, output = middle + row * rowLength
                        for x in 0..<outputWidth {
                            let start = input + Int(first[x]) * channels, k = weights + x * taps
                            if channels == 3 {
                                var sum = SIMD4<Int32>(repeating: half)
                                for tap in 0..<Int(counts[x]) {
                                    let p = start + tap * 3
                                    sum &+= SIMD4(Int32(p[0]), Int32(p[1]), Int32(p[2]), 0) &* k[tap]
                                }
                                output[3 * x] = Self.clip8(sum[0])
                                output[3 * x + 1] = Self.clip8(sum[1])
                                output[3 * x + 2] = Self.clip8(sum[2])
                            } else {
                                for c in 0..<channels {
                                    var sum = half
                                    for tap in 0..<Int(counts[x]) { sum &+= Int32(start[tap * channels + c]) &* k[tap] }
                                    output[x * channels + c] = Self.clip8(sum)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func verticalPass(
        _ middle: UnsafePointer<UInt8>, firstRow: Int, rowLength: Int, outputRows: Int,
        into target: UnsafeMutablePointer<UInt8>
    ) {
        if accumulators.count < rowLength { accumulators = [Int32](repeating: 0, count: rowLength) }
        let taps = rows.taps, half = Int32(1 << (ResampleCoefficients.precisionBits - 1))
        accumulators.withUnsafeMutableBufferPointer { sums in
            guard let sums = sums.baseAddress else { return }
            for y in 0..<outputRows {
                for i in 0..<rowLength { sums[i] = half }
                let start = Int(rows.first[y]) - firstRow
                for tap in 0..<Int(rows.counts[y]) {
                    let weight = rows.weights[y * taps + tap], line = middle + (start + tap) * rowLength
                    for i in 0..<rowLength { sums[i] &+= Int32(line[i]) &* weight }
                }
                let output = target + y * rowLength
                for i in 0..<rowLength { output[i] = Self.clip8(sums[i]) }
            }
        }
    }

    /// Pillow's clip8: the sum's integer part, clamped to 0...255.
    @inline(__always) static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum >> Int32(ResampleCoefficients.precisionBits), 0), 255))
    }
}
