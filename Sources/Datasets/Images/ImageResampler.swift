/// Resizes (a window of) an 8-bit HWC image with Pillow's antialiased bilinear filter in
/// Pillow's integer arithmetic: a horizontal pass, rounded to 8 bits, then a vertical one,
/// each skipped where Pillow skips it. Output pixels outside the wanted window are never
/// computed, so "resize to 256, then crop 224" costs only the 224x224 pixels kept.
/// One resampler per thread: it keeps its coefficient tables and intermediate rows.
public final class ImageResampler {
    private var columns = ResampleCoefficients(), rows = ResampleCoefficients()
    private var intermediate: [UInt8] = []
    /// The horizontal pass's source columns as lines, and its output columns.
    private var transposed: [UInt8] = [], resampledColumns: [UInt8] = []
    private var accumulators: [Int32] = []

    public init() {}

    /// Lets go of the intermediate rows and columns (after a huge image).
    public func releaseBuffers() {
        (intermediate, transposed, resampledColumns, accumulators) = ([], [], [], [])
    }

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
        // The pass runs on the image transposed: a source column (all the rows needed, channels
        // interleaved) becomes one contiguous line, so each output column is a weighted sum of a
        // few whole lines, which vectorises as the vertical pass does (the taps along a row do not:
        // measured 38% of a RandomResizedCrop sample's time before this, most of it here).
        let columnLow = Int(columns.first.min() ?? 0)
        let columnHigh = zip(columns.first, columns.counts).map { Int($0) + Int($1) }.max() ?? columnLow
        let lineLength = sourceRows.count * channels, sourceColumns = max(0, columnHigh - columnLow)
        if transposed.count < sourceColumns * lineLength {
            transposed = [UInt8](repeating: 0, count: sourceColumns * lineLength)
        }
        if resampledColumns.count < outputWidth * lineLength {
            resampledColumns = [UInt8](repeating: 0, count: outputWidth * lineLength)
        }
        transposed.withUnsafeMutableBufferPointer { transposed in
            resampledColumns.withUnsafeMutableBufferPointer { resampled in
                guard let transposed = transposed.baseAddress, let resampled = resampled.baseAddress else { return }
                for (row, sourceRow) in sourceRows.enumerated() {
                    let input = source + (sourceRow * sourceWidth + columnLow) * channels
                    let output = transposed + row * channels
                    if channels == 3 {
                        for column in 0..<sourceColumns {
                            let from = input + 3 * column, to = output + column * lineLength
                            (to[0], to[1], to[2]) = (from[0], from[1], from[2])
                        }
                    } else {
                        for column in 0..<sourceColumns {
                            for c in 0..<channels { output[column * lineLength + c] = input[column * channels + c] }
                        }
                    }
                }
                weightedLines(transposed, firstLine: columnLow, lineLength: lineLength, coefficients: columns,
                              outputs: outputWidth, into: resampled)
                for row in 0..<sourceRows.count {
                    let output = middle + row * rowLength, input = resampled + row * channels
                    if channels == 3 {
                        for x in 0..<outputWidth {
                            let from = input + x * lineLength, to = output + 3 * x
                            (to[0], to[1], to[2]) = (from[0], from[1], from[2])
                        }
                    } else {
                        for x in 0..<outputWidth {
                            for c in 0..<channels { output[x * channels + c] = input[x * lineLength + c] }
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
        weightedLines(middle, firstLine: firstRow, lineLength: rowLength, coefficients: rows, outputs: outputRows,
                      into: target)
    }

    /// Output line o = Σ taps weight · input line (first[o] + tap − firstLine), in Pillow's fixed
    /// point, rounded and clamped to bytes: both passes' arithmetic.
    private func weightedLines(
        _ lines: UnsafePointer<UInt8>, firstLine: Int, lineLength: Int, coefficients: ResampleCoefficients,
        outputs: Int, into target: UnsafeMutablePointer<UInt8>
    ) {
        if accumulators.count < lineLength { accumulators = [Int32](repeating: 0, count: lineLength) }
        let taps = coefficients.taps, half = Int32(1 << (ResampleCoefficients.precisionBits - 1))
        accumulators.withUnsafeMutableBufferPointer { sums in
            guard let sums = sums.baseAddress else { return }
            for o in 0..<outputs {
                for i in 0..<lineLength { sums[i] = half }
                let start = Int(coefficients.first[o]) - firstLine
                for tap in 0..<Int(coefficients.counts[o]) {
                    let weight = coefficients.weights[o * taps + tap], line = lines + (start + tap) * lineLength
                    for i in 0..<lineLength { sums[i] &+= Int32(line[i]) &* weight }
                }
                let output = target + o * lineLength
                for i in 0..<lineLength { output[i] = Self.clip8(sums[i]) }
            }
        }
    }

    /// Pillow's clip8: the sum's integer part, clamped to 0...255.
    @inline(__always) static func clip8(_ sum: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: min(max(sum >> Int32(ResampleCoefficients.precisionBits), 0), 255))
    }
}
