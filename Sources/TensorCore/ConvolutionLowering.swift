// im2col and col2im: lowering one image's convolution to a matrix product.
//
// The column matrix has one row per (input channel, kernel row, kernel column) — the
// order of a weight row [in/groups, kH, kW], so group g's rows are one contiguous block —
// and one column per output pixel. `rowStride` lets several images share one matrix side
// by side (image i's pixels at columns i·oH·oW ..< (i+1)·oH·oW). Each row is filled by
// whole output rows with the valid output-column range computed up front, so the inner
// loops have no bounds checks and a stride-1 row is a straight copy. im2col lowers Float32
// values, or bf16 bits as they are for the bf16 GEMM (`ColumnElement`).

/// What a column matrix holds: Float32 values, or bf16 bits (UInt16), which im2col copies
/// without widening (the bf16 GEMM packs them as they are).
protocol ColumnElement: SIMDScalar, BitwiseCopyable, AdditiveArithmetic {}

extension Float: ColumnElement {}

extension UInt16: ColumnElement {}

extension Convolution {
    /// Output columns ow whose input column ow·stride + offset lies in 0..<width.
    @inline(__always)
    static func validColumns(offset: Int, stride: Int, width: Int, outWidth: Int) -> Range<Int> {
        // An offset wholly in the left padding (low past the row) or the right (high ≤ low)
        // leaves no valid column: an empty range inside 0...outWidth, never a reversed one.
        let low = Swift.min(outWidth, offset >= 0 ? 0 : (-offset + stride - 1) / stride)
        let last = width - 1 - offset
        let high = last < 0 ? 0 : Swift.min(outWidth, last / stride + 1)
        return low..<Swift.max(low, high)
    }

    /// Copies `count` elements between non-overlapping buffers with inline 32-byte moves: im2col
    /// rows are short (an output row), where a memmove call per row costs more than the copy.
    /// The last vector ends exactly at the row's end (overlapping the previous one), so only rows
    /// shorter than 32 bytes take the scalar loop.
    @inline(__always)
    static func copyRow<Element: BitwiseCopyable>(
        from source: UnsafePointer<Element>, to destination: UnsafeMutablePointer<Element>, count: Int
    ) {
        let bytes = count * MemoryLayout<Element>.stride
        if bytes < 32 {
            for i in 0..<count { destination[i] = source[i] }
            return
        }
        let s = UnsafeRawPointer(source), d = UnsafeMutableRawPointer(destination)
        var offset = 0
        let last = bytes - 32
        while offset < last {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt32>.self), toByteOffset: offset,
                         as: SIMD8<UInt32>.self)
            offset += 32
        }
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: last, as: SIMD8<UInt32>.self), toByteOffset: last,
                     as: SIMD8<UInt32>.self)
    }

    /// destination[i] = source[2·i] for i in 0..<count, 8 lanes at a time (the even half of 16
    /// loaded elements): a stride-2 layer's im2col rows (ResNet's 7x7/2 stem, its 3x3/2 and
    /// 1x1/2 downsampling) were a scalar gather, most of the stem's lowering time. The last 8
    /// (ending exactly at `count`, overlapping the previous ones) come from two 8-element loads,
    /// so rows of 8 to 16 outputs (ResNet-20's stride-2 layers) need no scalar tail either.
    @inline(__always)
    static func copyEveryOther<Element: ColumnElement>(
        from source: UnsafePointer<Element>, to destination: UnsafeMutablePointer<Element>, count: Int
    ) {
        let s = UnsafeRawPointer(source), d = UnsafeMutableRawPointer(destination)
        let size = MemoryLayout<Element>.stride
        var i = 0
        // Every load ends at or before source[2·(count−1)], the last element needed.
        while i + 9 <= count {
            let pairs = s.loadUnaligned(fromByteOffset: 2 * i * size, as: SIMD16<Element>.self)
            d.storeBytes(of: pairs.evenHalf, toByteOffset: i * size, as: SIMD8<Element>.self)
            i += 8
        }
        guard i < count else { return }
        guard count >= 8 else {
            while i < count { destination[i] = source[2 * i]; i += 1 }
            return
        }
        // Outputs j ..< j+8, j = count − 8, read source[2j ... 2j+14]: the even lanes of
        // 2j ..< 2j+8 and the odd lanes of 2j+7 ..< 2j+15.
        let j = count - 8
        let low = s.loadUnaligned(fromByteOffset: 2 * j * size, as: SIMD8<Element>.self)
        let high = s.loadUnaligned(fromByteOffset: (2 * j + 7) * size, as: SIMD8<Element>.self)
        d.storeBytes(of: SIMD8(lowHalf: low.evenHalf, highHalf: high.oddHalf), toByteOffset: j * size,
                     as: SIMD8<Element>.self)
    }

    /// Fills `columns` [inChannels·kH·kW, oH·oW] (rows `rowStride` apart) from one image [inChannels, H, W].
    /// With `outputRows`, only those output rows' pixels (a band, `Convolution.bandRows`), as
    /// columns 0..<outputRows.count·oW; not for `preservesWidth` geometries.
    static func im2col<Element: ColumnElement>(
        _ g: ConvolutionGeometry, image: UnsafePointer<Element>, columns: UnsafeMutablePointer<Element>,
        rowStride: Int, outputRows: Range<Int>? = nil
    ) {
        precondition(outputRows == nil || !preservesWidth(g), "im2col: bands are for geometries lowered row by row")
        let outputRows = outputRows ?? 0..<g.outHeight
        if preservesWidth(g) {
            im2colPreservingWidth(g, image: image, columns: columns, rowStride: rowStride)
            return
        }
        let height = g.inHeight, width = g.inWidth
        let outWidth = g.outWidth
        let strideW = g.strideWidth
        var row = 0
        for channel in 0..<g.inChannels {
            let plane = image + channel * height * width
            for ki in 0..<g.kernelHeight {
                let rowOffset = ki * g.dilationHeight - g.padHeight
                for kj in 0..<g.kernelWidth {
                    let columnOffset = kj * g.dilationWidth - g.padWidth
                    let valid = validColumns(offset: columnOffset, stride: strideW, width: width, outWidth: outWidth)
                    let destination = columns + row * rowStride - outputRows.lowerBound * outWidth
                    for oh in outputRows {
                        let d = destination + oh * outWidth
                        let ih = oh * g.strideHeight + rowOffset
                        if ih < 0 || ih >= height {
                            d.update(repeating: .zero, count: outWidth)
                            continue
                        }
                        let source = plane + ih * width + columnOffset
                        for ow in 0..<valid.lowerBound { d[ow] = .zero }
                        if strideW == 1 {
                            copyRow(from: source + valid.lowerBound, to: d + valid.lowerBound, count: valid.count)
                        } else if strideW == 2 {
                            copyEveryOther(from: source + 2 * valid.lowerBound, to: d + valid.lowerBound,
                                           count: valid.count)
                        } else {
                            for ow in valid { d[ow] = source[ow * strideW] }
                        }
                        for ow in valid.upperBound..<outWidth { d[ow] = .zero }
                    }
                    row += 1
                }
            }
        }
    }

    /// Stride 1 with as many output columns as input columns ("same" padding, the 3x3 pad-1
    /// convolutions of ResNet and VGG): output pixel (oh, ow) of kernel offset (ki, kj) reads
    /// input pixel (oh + ki·dH − pH, ow + kj·dW − pW), whose linear index is the output's plus
    /// a constant. A column-matrix row is then one shifted copy of the plane, with the
    /// positions that fall into the padding zeroed afterwards.
    @inline(__always)
    static func preservesWidth(_ g: ConvolutionGeometry) -> Bool {
        g.strideHeight == 1 && g.strideWidth == 1 && g.outWidth == g.inWidth
    }

    /// One kernel offset (ki, kj) of a `preservesWidth` geometry: output positions
    /// firstRow·W ..< endRow·W have an input row, output columns `valid` an input column,
    /// and output position q reads input position q + shift. `start ..< end` is the part of
    /// the valid rows whose shifted position lies inside the plane (the clipped ends are
    /// padding columns).
    struct ShiftedPlane {
        let firstRow: Int, endRow: Int, valid: Range<Int>, shift: Int, start: Int, end: Int

        @inline(__always)
        init(_ g: ConvolutionGeometry, ki: Int, kj: Int) {
            let width = g.inWidth, planeSize = g.inHeight * width
            let rowOffset = ki * g.dilationHeight - g.padHeight
            let columnOffset = kj * g.dilationWidth - g.padWidth
            firstRow = Swift.min(g.outHeight, Swift.max(0, -rowOffset))
            endRow = Swift.max(firstRow, Swift.min(g.outHeight, g.inHeight - rowOffset))
            valid = validColumns(offset: columnOffset, stride: 1, width: width, outWidth: width)
            shift = rowOffset * width + columnOffset
            start = Swift.max(firstRow * width, -shift)
            end = Swift.min(endRow * width, planeSize - shift)
        }

        /// Zeroes the padding columns of the valid rows of a column-matrix row.
        @inline(__always)
        func zeroPaddingColumns<Element: ColumnElement>(_ row: UnsafeMutablePointer<Element>, width: Int) {
            guard valid.count < width else { return }
            for oh in firstRow..<endRow {
                let r = row + oh * width
                for ow in 0..<valid.lowerBound { r[ow] = .zero }
                for ow in valid.upperBound..<width { r[ow] = .zero }
            }
        }
    }

    /// Calls `body(planeOffset, shift, row)` for every column-matrix row (channel, ki, kj) of a
    /// `preservesWidth` geometry, in row order: the channel's plane offset in the image and the
    /// kernel offset's shifted-plane geometry.
    @inline(__always)
    static func forEachShiftedRow(_ g: ConvolutionGeometry, _ body: (Int, ShiftedPlane, Int) -> Void) {
        let planeSize = g.inHeight * g.inWidth
        var row = 0
        for channel in 0..<g.inChannels {
            for ki in 0..<g.kernelHeight {
                for kj in 0..<g.kernelWidth {
                    body(channel * planeSize, ShiftedPlane(g, ki: ki, kj: kj), row)
                    row += 1
                }
            }
        }
    }

    /// im2col for `preservesWidth` geometries: per row one block copy instead of one copy per
    /// output row (the per-row work dominated: 9 × channels × oH short copies per image).
    static func im2colPreservingWidth<Element: ColumnElement>(
        _ g: ConvolutionGeometry, image: UnsafePointer<Element>, columns: UnsafeMutablePointer<Element>,
        rowStride: Int
    ) {
        let width = g.inWidth, pixels = g.outHeight * width
        forEachShiftedRow(g) { planeOffset, s, row in
            let plane = image + planeOffset, destination = columns + row * rowStride
            // Rows without an input row are all padding.
            destination.update(repeating: .zero, count: s.firstRow * width)
            (destination + s.endRow * width).update(repeating: .zero, count: pixels - s.endRow * width)
            if s.start < s.end {
                copyRow(from: plane + s.start + s.shift, to: destination + s.start, count: s.end - s.start)
            }
            s.zeroPaddingColumns(destination, width: width)
        }
    }

    /// Adds `columns` [inChannels·kH·kW, oH·oW] back onto one image [inChannels, H, W]
    /// (the adjoint of im2col); the image must be zeroed (or hold what to add to) first.
    /// `columns` is scratch: entries that map into the padding may be overwritten with zeros.
    /// With `outputRows`, the columns are those output rows' pixels only (as im2col's).
    static func col2im(_ g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>, rowStride: Int,
                       image: UnsafeMutablePointer<Float>, outputRows: Range<Int>? = nil) {
        precondition(outputRows == nil || !preservesWidth(g), "col2im: bands are for geometries lowered row by row")
        let outputRows = outputRows ?? 0..<g.outHeight
        if preservesWidth(g) {
            col2imPreservingWidth(g, columns: columns, rowStride: rowStride, image: image)
            return
        }
        let height = g.inHeight, width = g.inWidth
        let outWidth = g.outWidth
        let strideW = g.strideWidth
        var row = 0
        for channel in 0..<g.inChannels {
            let plane = image + channel * height * width
            for ki in 0..<g.kernelHeight {
                let rowOffset = ki * g.dilationHeight - g.padHeight
                for kj in 0..<g.kernelWidth {
                    let columnOffset = kj * g.dilationWidth - g.padWidth
                    let valid = validColumns(offset: columnOffset, stride: strideW, width: width, outWidth: outWidth)
                    let source = columns + row * rowStride - outputRows.lowerBound * outWidth
                    for oh in outputRows {
                        let ih = oh * g.strideHeight + rowOffset
                        if ih < 0 || ih >= height { continue }
                        let s = source + oh * outWidth
                        let d = plane + ih * width + columnOffset
                        if strideW == 1 {
                            for ow in valid { d[ow] += s[ow] }
                        } else {
                            for ow in valid { d[ow * strideW] += s[ow] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// col2im for `preservesWidth` geometries, the adjoint of `im2colPreservingWidth`: each
    /// column-matrix row is added onto the plane as one shifted block. The entries that map
    /// into the padding would land on a neighbouring row's edge, so they are zeroed in the
    /// column matrix first (it is scratch): adding +0 leaves every value as it was.
    static func col2imPreservingWidth(_ g: ConvolutionGeometry, columns: UnsafeMutablePointer<Float>, rowStride: Int,
                                      image: UnsafeMutablePointer<Float>) {
        forEachShiftedRow(g) { planeOffset, s, row in
            let plane = image + planeOffset, source = columns + row * rowStride
            s.zeroPaddingColumns(source, width: g.inWidth)
            if s.start < s.end { addRow(from: source + s.start, to: plane + s.start + s.shift, count: s.end - s.start) }
        }
    }

    /// destination[i] += source[i] for i in 0..<count, 16 lanes at a time.
    @inline(__always)
    static func addRow(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        let s = UnsafeRawPointer(source), d = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 16 <= count {
            let offset = i * MemoryLayout<Float>.stride
            d.storeBytes(of: d.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                             + s.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self),
                         toByteOffset: offset, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { destination[i] += source[i]; i += 1 }
    }
}
