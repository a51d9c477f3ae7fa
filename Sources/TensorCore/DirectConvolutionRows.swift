// Direct convolution for output planes that 16-pixel pieces do not tile (rows not 8·n pixels
// wide: LeNet's 28x28 and 10x10 outputs, the 14x14 input gradient of its second layer), and
// weight gradients whose filter or depth counts are not multiples of 4.
// The plane is swept row by row; a row's last piece is only partly used. Its lanes past the
// row's end read the next row (or the zeros after the padded image) and are never stored.

extension DirectConvolution {
    /// All tiles of one image: pieces of 16 output pixels within a row, paired into
    /// 32-pixel register tiles.
    static func sweepRows(_ p: Pass, packed: UnsafePointer<Float>, padded: UnsafePointer<Float>,
                          output: UnsafeMutablePointer<Float>) {
        let perRow = (p.outWidth + 15) / 16
        let pieces = p.outHeight * perRow
        /// Piece k: output row k / perRow, first column (k mod perRow)·16.
        func start(_ k: Int) -> (row: Int, column: Int) { (k / perRow, (k % perRow) * 16) }
        for panel in 0..<(p.paddedFilters / 8) {
            let a = packed + panel * p.depth * 8
            let c = output + panel * 8 * p.pixels
            let rows = Swift.min(8, p.filters - panel * 8)
            var k = 0
            while k < pieces {
                let wide = k + 1 < pieces
                let first = start(k), second = wide ? start(k + 1) : first
                let base0 = UnsafeRawPointer(padded + first.row * p.paddedWidth + first.column)
                let base1 = UnsafeRawPointer(padded + second.row * p.paddedWidth + second.column)
                let bases = (base0, base0, base1, base1)
                let tile = wide ? accumulate(p, a: a, bases, wide: true, split: false)
                    : accumulate(p, a: a, bases, wide: false, split: false)
                let out0 = first.row * p.outWidth + first.column, count0 = Swift.min(16, p.outWidth - first.column)
                let out1 = second.row * p.outWidth + second.column, count1 = Swift.min(16, p.outWidth - second.column)
                for i in 0..<rows {
                    let (v0, v1) = tile.row(i)
                    let plane = c + i * p.pixels
                    storePiece(plane + out0, v0, count: count0)
                    if wide { storePiece(plane + out1, v1, count: count1) }
                }
                k += wide ? 2 : 1
            }
        }
    }

    /// The first `count` lanes of `v` to `destination`.
    @inline(__always)
    static func storePiece(_ destination: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>, count: Int) {
        if count == 16 {
            UnsafeMutableRawPointer(destination).storeBytes(of: v, as: SIMD16<Float>.self)
            return
        }
        for j in 0..<count { destination[j] = v[j] }
    }

    /// The weight gradient's `accumulateWeightGradient` for any output plane and any filter and
    /// depth counts: row by row, 16 pixels per lane, the lanes of a row's last piece past
    /// its end masked to zero on the input side. Blocks past the last filter or depth row
    /// repeat the last one; their lanes are never summed.
    static func accumulateWeightGradientRows(_ p: Pass, padded: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                             images: Int, lanes: UnsafeMutablePointer<Float>) {
        let pw = p.paddedWidth, outWidth = p.outWidth, pixels = p.pixels
        let perRow = (outWidth + 15) / 16, lastValid = outWidth - (perRow - 1) * 16
        var laneIndex = SIMD16<Int32>()
        for j in 0..<16 { laneIndex[j] = Int32(j) }
        let outside = laneIndex .>= Int32(lastValid)
        /// The output gradient's 16 values at `source`, zero past a row's end: a row's last
        /// piece is masked (the next row's values, even infinite ones, must not reach the sums),
        /// and at a plane's last row read lane by lane (16 lanes could run past the batch's end).
        @inline(__always)
        func gradients(_ source: UnsafePointer<Float>, lastPiece: Bool, lastRow: Bool) -> SIMD16<Float> {
            if !lastPiece { return UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self) }
            if !lastRow {
                return UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self).replacing(with: 0, where: outside)
            }
            var v = SIMD16<Float>()
            for j in 0..<lastValid { v[j] = source[j] }
            return v
        }
        var block = UnsafeMutableRawPointer(lanes)
        for f0 in Swift.stride(from: 0, to: p.blockedFilters, by: 4) {
            let last = p.filters - 1
            let f1 = Swift.min(f0 + 1, last), f2 = Swift.min(f0 + 2, last), f3 = Swift.min(f0 + 3, last)
            var c = 0, ki = 0, kj = 0, previous = 0
            /// Row d = (c, ki, kj) as an offset into the padded image, stepped without divisions;
            /// rows past the depth repeat the last one.
            func nextOffset(_ d: Int) -> Int {
                guard d < p.depth else { return previous }
                previous = c * p.paddedPlane + ki * pw + kj
                kj += 1
                if kj == p.kernelWidth { kj = 0; ki += 1 }
                if ki == p.kernelHeight { ki = 0; c += 1 }
                return previous
            }
            for d0 in Swift.stride(from: 0, to: p.blockedDepth, by: 4) {
                let o0 = nextOffset(d0), o1 = nextOffset(d0 + 1), o2 = nextOffset(d0 + 2), o3 = nextOffset(d0 + 3)
                var sums = LaneBlock(loading: block)
                for image in 0..<images {
                    let plane = padded + image * p.paddedCount
                    let g = dy + image * p.filters * pixels
                    let rows = (g + Swift.min(f0, last) * pixels, g + f1 * pixels, g + f2 * pixels, g + f3 * pixels)
                    for oh in 0..<p.outHeight {
                        let row = plane + oh * pw, rowStart = oh * outWidth
                        for piece in 0..<perRow {
                            let ow = piece * 16
                            let x = row + ow
                            func input(_ o: Int) -> SIMD16<Float> { UnsafeRawPointer(x + o).loadUnaligned(as: SIMD16<Float>.self) }
                            var x0 = input(o0), x1 = input(o1), x2 = input(o2), x3 = input(o3)
                            let lastPiece = piece == perRow - 1 && lastValid < 16
                            if lastPiece {
                                x0.replace(with: 0, where: outside); x1.replace(with: 0, where: outside)
                                x2.replace(with: 0, where: outside); x3.replace(with: 0, where: outside)
                            }
                            let lastRow = oh == p.outHeight - 1
                            let q = rowStart + ow
                            sums.multiplyAdd(x0, x1, x2, x3) { f in
                                let gradientRow = f == 0 ? rows.0 : f == 1 ? rows.1 : f == 2 ? rows.2 : rows.3
                                return gradients(gradientRow + q, lastPiece: lastPiece, lastRow: lastRow)
                            }
                        }
                    }
                }
                sums.store(to: block)
                block += 16 * 64
            }
        }
    }
}
