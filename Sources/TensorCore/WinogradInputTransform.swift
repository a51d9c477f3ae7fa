// The Winograd input transform V = Bᵀ d B, shared by the forward pass (V in the GEMM's
// packed-B order) and the weight gradient (V row-major, tiles contiguous).

/// Where the input transform writes tile `local`'s value for one channel; position ξ's values
/// are `plane` floats further per ξ. Eight consecutive tiles from a multiple of 8 must be
/// contiguous.
protocol WinogradTileLayout {
    var plane: Int { get }
    func offset(channel c: Int, tile local: Int) -> Int
}

extension WinogradConvolution {
    /// The forward pass's packed-B order (columns = tiles, depth = channels): for position ξ,
    /// the slice [c0, c0 + kc) starts at c0·blockTiles, and within it tile t's value for
    /// channel c sits in panel t / nr at (c − c0)·nr + t % nr.
    struct PackedTileLayout: WinogradTileLayout {
        let problem: Problem
        let plane: Int

        init(_ problem: Problem) {
            self.problem = problem
            plane = problem.channels * WinogradConvolution.blockTiles
        }

        @inline(__always)
        func offset(channel c: Int, tile local: Int) -> Int {
            let nr = problem.shape.columns
            let (c0, kc) = problem.slice(of: c)
            return c0 * WinogradConvolution.blockTiles + (local / nr) * nr * kc + (c - c0) * nr + local % nr
        }
    }

    /// The 4x4 patch at (top, left) of a height×width plane, zero outside it, as four rows; the
    /// plane's values mapped by `map`.
    @inline(__always)
    static func patch<Map: ChannelValueMap>(
        _ plane: UnsafePointer<Float>, top: Int, left: Int, height: Int, width: Int, map: Map
    ) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
        if top >= 0 && left >= 0 && top + 4 <= height && left + 4 <= width {
            let base = UnsafeRawPointer(plane + top * width + left)
            let stride = width * MemoryLayout<Float>.stride
            return (
                map.apply(base.loadUnaligned(as: SIMD4<Float>.self)),
                map.apply(base.loadUnaligned(fromByteOffset: stride, as: SIMD4<Float>.self)),
                map.apply(base.loadUnaligned(fromByteOffset: 2 * stride, as: SIMD4<Float>.self)),
                map.apply(base.loadUnaligned(fromByteOffset: 3 * stride, as: SIMD4<Float>.self))
            )
        }
        func row(_ y: Int) -> SIMD4<Float> {
            var r = SIMD4<Float>()
            guard y >= 0 && y < height else { return r }
            for j in 0..<4 where left + j >= 0 && left + j < width { r[j] = map.apply(plane[y * width + left + j]) }
            return r
        }
        return (row(top), row(top + 1), row(top + 2), row(top + 3))
    }

    /// Row-major [channel][tile] with `tiles` per row.
    struct RowMajorTileLayout: WinogradTileLayout {
        let channels: Int, tiles: Int
        var plane: Int { channels * tiles }

        @inline(__always)
        func offset(channel c: Int, tile local: Int) -> Int { c * tiles + local }
    }
}

extension WinogradConvolution.Problem {
    /// V = Bᵀ d B of F(2x2, 3x3) for tiles and every channel of `source` (its values mapped by
    /// `map`), into `layout`; tiles from tiles.count up to `paddedCount` get zeros.
    @inline(__always)
    func transformInput<Layout: WinogradTileLayout, Map: WinogradSourceMap>(
        _ source: UnsafePointer<Float>, map: Map, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>,
        layout: Layout, paddedCount: Int
    ) {
        precondition(patchSide == 4, "6x6 patches are transformed by transformInputSixBySix")
        let plane = layout.plane
        for c in 0..<channels {
            let channelMap = map.channel(c)
            var position = WinogradConvolution.TilePosition(tiles.lowerBound, self)
            var local = 0
            while local < paddedCount {
                let offset = layout.offset(channel: c, tile: local)
                guard local < tiles.count else {
                    for xi in 0..<16 { v[xi * plane + offset] = 0 }
                    local += 1
                    continue
                }
                let image = source + (position.image * channels + c) * height * width
                let top = 2 * position.row - padTop, left = 2 * position.column - padLeft
                // Eight tiles of one row, inside the plane (with the two columns the shifted
                // load reads): one vector per position ξ.
                if local % 8 == 0 && tiles.count - local >= 8 && position.column + 8 <= tilesWide
                    && top >= 0 && top + 4 <= height && left >= 0 && left + 18 <= width
                {
                    transformEightTiles(image + top * width + left, map: channelMap, into: v + offset, plane: plane)
                    for _ in 0..<8 { position.advance(self) }
                    local += 8
                    continue
                }
                let d = WinogradConvolution.patch(
                    image, top: top, left: left, height: height, width: width, map: channelMap)
                // Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]], on rows then columns.
                let e0 = d.0 - d.2, e1 = d.1 + d.2, e2 = d.2 - d.1, e3 = d.1 - d.3
                @inline(__always) func store(_ e: SIMD4<Float>, row: Int) {
                    let at = v + 4 * row * plane + offset
                    at[0] = e[0] - e[2]
                    at[plane] = e[1] + e[2]
                    at[2 * plane] = e[2] - e[1]
                    at[3 * plane] = e[1] - e[3]
                }
                store(e0, row: 0)
                store(e1, row: 1)
                store(e2, row: 2)
                store(e3, row: 3)
                position.advance(self)
                local += 1
            }
        }
    }

    /// Bᵀ d B for eight horizontally adjacent tiles whose patches start at `corner`: patch
    /// column j of the eight tiles is every other pixel from column j, split from two
    /// 16-pixel loads.
    @inline(__always)
    func transformEightTiles<Map: ChannelValueMap>(
        _ corner: UnsafePointer<Float>, map: Map, into v: UnsafeMutablePointer<Float>, plane: Int
    ) {
        let width = self.width
        @inline(__always) func columns(_ y: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            let row = UnsafeRawPointer(corner + y * width)
            let a = map.apply(row.loadUnaligned(as: SIMD16<Float>.self))
            let b = map.apply(row.loadUnaligned(fromByteOffset: 8, as: SIMD16<Float>.self))
            return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
        }
        let d0 = columns(0), d1 = columns(1), d2 = columns(2), d3 = columns(3)
        @inline(__always) func store(_ e: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), row: Int) {
            let at = UnsafeMutableRawPointer(v + 4 * row * plane)
            let stride = plane * MemoryLayout<Float>.stride
            at.storeBytes(of: e.0 - e.2, as: SIMD8<Float>.self)
            at.storeBytes(of: e.1 + e.2, toByteOffset: stride, as: SIMD8<Float>.self)
            at.storeBytes(of: e.2 - e.1, toByteOffset: 2 * stride, as: SIMD8<Float>.self)
            at.storeBytes(of: e.1 - e.3, toByteOffset: 3 * stride, as: SIMD8<Float>.self)
        }
        store((d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3), row: 0)
        store((d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3), row: 1)
        store((d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3), row: 2)
        store((d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3), row: 3)
    }
}
