// The direct convolution's register kernel for CPUs without AVX-512: 6 filters × one
// 16-pixel piece in the GEMM's 6×16 tile (twelve 8-lane accumulators).
//
// The 8-filter × 32-pixel tile of `sweep` needs 32 vector registers for its accumulators,
// which AVX2's 16 ymm registers cannot hold: on a Zen 3 core VGG-16's 3x3 layers ran at
// 25–33 GFLOP/s there, half of im2col + GEMM with the 6×16 GEMM kernel. A piece is loaded
// as its two 8-pixel halves, each within one output row, so planes whose rows are 8·n
// pixels wide need no special case.
//
// Pixels are the outer loop, filter panels the inner one: a band of output rows is
// convolved with every panel while its input rows are in L2. Panel-outer order streamed the
// whole padded image once per panel — 13 MB, 11 times, for VGG-16's 64-channel 224x224
// layer — from L3 or memory, and ran at 31 GFLOP/s there against 97 at 56x56.

extension DirectConvolution {
    /// Bytes of padded input rows one band may keep in L2 (half a 512 KiB Zen 3 L2, leaving
    /// room for the panel weights streaming through). Tests lower it to cut planes into bands.
    nonisolated(unsafe) static var bandBytes = 256 << 10

    /// Depth (channel · kH · kW) of one block: a piece reads 64 bytes per depth step, so a
    /// block's 16 KiB of input stay in L1 while every filter panel multiplies them.
    static let blockDepth = 256

    /// Output rows per band: as many as keep the band's input rows (all channels) within
    /// `bandBytes`, at least one.
    static func bandRows(_ p: Pass) -> Int {
        let inputRowBytes = p.channels * p.paddedWidth * MemoryLayout<Float>.stride
        return Swift.max(1, bandBytes / Swift.max(1, inputRowBytes) - (p.kernelHeight - 1))
    }

    /// Channels per depth block (at least one).
    static func blockChannels(_ p: Pass) -> Int { Swift.max(1, blockDepth / (p.kernelHeight * p.kernelWidth)) }

    /// All tiles of one image. Loop order: bands of output rows, blocks of channels, pieces of
    /// 16 pixels, filter panels. A piece's input over one channel block stays in L1 while
    /// every panel uses it; later blocks continue each output's FMA chain from the value the
    /// previous block stored, so the result is the same single chain as without blocking.
    /// Planes that 16-pixel pieces do not tile go row by row: a row's last piece is partly
    /// used (its lanes past the row's end read the next row, or the zeros after the padded
    /// image, and are never stored).
    static func sweep6x16(
        _ p: Pass, packed: UnsafePointer<Float>, padded: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        let wholePieces = tilesIntoPieces(width: p.outWidth, pixels: p.pixels)
        // Whole pieces may straddle two rows: bands of an even number of rows then start on a piece.
        let fitting = bandRows(p)
        let band = wholePieces && p.outWidth % 16 != 0 ? (fitting + 1) / 2 * 2 : fitting
        let channelsPerBlock = blockChannels(p)
        let window = p.kernelHeight * p.kernelWidth
        let planeBytes = p.paddedPlane * MemoryLayout<Float>.stride
        // Pieces as (first output pixel, input offset of the low half, of the high half, lanes used).
        func piece(row oh: Int, column ow: Int) -> (q: Int, low: Int, high: Int, count: Int) {
            let q = oh * p.outWidth + ow
            if !wholePieces {
                let low = oh * p.paddedWidth + ow
                return (q, low, low + 8, Swift.min(16, p.outWidth - ow))
            }
            let q8 = q + 8
            return (q, oh * p.paddedWidth + ow, (q8 / p.outWidth) * p.paddedWidth + q8 % p.outWidth, 16)
        }
        for firstRow in Swift.stride(from: 0, to: p.outHeight, by: band) {
            let lastRow = Swift.min(p.outHeight, firstRow + band)
            for c0 in Swift.stride(from: 0, to: p.channels, by: channelsPerBlock) {
                let channels = Swift.min(channelsPerBlock, p.channels - c0)
                let shift = c0 * planeBytes
                var q = firstRow * p.outWidth
                let end = lastRow * p.outWidth
                var oh = firstRow, ow = 0
                while q < end {
                    let at = piece(row: oh, column: ow)
                    let low = UnsafeRawPointer(padded + at.low) + shift,
                        high = UnsafeRawPointer(padded + at.high) + shift
                    for panel in 0..<(p.paddedFilters / 6) {
                        let a = packed + panel * p.depth * 6 + c0 * window * 6
                        let c = output + panel * 6 * p.pixels + at.q
                        let rows = Swift.min(6, p.filters - panel * 6)
                        var tile =
                            c0 == 0 ? RegisterTile6x16() : load6x16(rows: rows, c: c, ldc: p.pixels, count: at.count)
                        accumulate6x16(p, a: a, low: low, high: high, channels: channels, into: &tile)
                        store6x16(tile, rows: rows, c: c, ldc: p.pixels, count: at.count)
                    }
                    // Next piece: 16 pixels on, within the row unless pieces tile the plane.
                    if wholePieces {
                        q += 16
                        oh = q / p.outWidth
                        ow = q % p.outWidth
                    } else {
                        ow += 16
                        if ow >= p.outWidth { ow = 0; oh += 1 }
                        q = oh * p.outWidth + ow
                    }
                }
            }
        }
    }

    /// tile += Σ over (channel < channels, ki, kj) of a's 6 weights × the piece whose halves
    /// start at `low` and `high`, shifted by the kernel offset: the FMA chains in depth order.
    @inline(__always)
    static func accumulate6x16(
        _ p: Pass, a: UnsafePointer<Float>, low: UnsafeRawPointer, high: UnsafeRawPointer,
        channels: Int, into tile: inout RegisterTile6x16
    ) {
        var ap = a
        let kW = p.kernelWidth
        let floatBytes = MemoryLayout<Float>.stride
        let rowBytes = p.paddedWidth * floatBytes, planeBytes = p.paddedPlane * floatBytes
        for channel in 0..<channels {
            for ki in 0..<p.kernelHeight {
                let shift = channel * planeBytes + ki * rowBytes
                let l = low + shift, h = high + shift
                for kj in 0..<kW {
                    let offset = kj * floatBytes
                    tile.multiplyAdd(
                        ap, l.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                        h.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
                    ap += 6
                }
            }
        }
    }

    /// The tile's rows < rows, lanes < count, from c (rows `ldc` apart); the rest zero.
    @inline(__always)
    static func load6x16(rows: Int, c: UnsafeMutablePointer<Float>, ldc: Int, count: Int) -> RegisterTile6x16 {
        func half(_ row: Int, _ offset: Int) -> SIMD8<Float> {
            guard row < rows else { return SIMD8<Float>() }
            let source = c + row * ldc + offset
            if count == 16 { return UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self) }
            var v = SIMD8<Float>()
            for j in 0..<Swift.max(0, Swift.min(8, count - offset)) { v[j] = source[j] }
            return v
        }
        var tile = RegisterTile6x16()
        tile.c00 = half(0, 0); tile.c01 = half(0, 8)
        tile.c10 = half(1, 0); tile.c11 = half(1, 8)
        tile.c20 = half(2, 0); tile.c21 = half(2, 8)
        tile.c30 = half(3, 0); tile.c31 = half(3, 8)
        tile.c40 = half(4, 0); tile.c41 = half(4, 8)
        tile.c50 = half(5, 0); tile.c51 = half(5, 8)
        return tile
    }

    /// c[i][0 ..< count] = the tile's row i, for i < rows; c's rows are `ldc` apart.
    @inline(__always)
    static func store6x16(_ tile: RegisterTile6x16, rows: Int, c: UnsafeMutablePointer<Float>, ldc: Int, count: Int) {
        for i in 0..<rows {
            let (left, right) = tile.row(i)
            let row = c + i * ldc
            if count == 16 {
                UnsafeMutableRawPointer(row).storeBytes(of: left, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(row + 8).storeBytes(of: right, as: SIMD8<Float>.self)
            } else {
                for j in 0..<count { row[j] = j < 8 ? left[j] : right[j - 8] }
            }
        }
    }
}
