// Direct convolution for output planes that 16-pixel pieces do not tile (rows not 8·n pixels
// wide: LeNet's 28x28 and 10x10 outputs, the 14x14 input gradient of its second layer).
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
}
