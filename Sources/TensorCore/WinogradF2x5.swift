// Winograd F(2x2, 5x5) for the forward pass and input gradient of 5x5 stride-1 convolutions
// (AlexNet's second layer): the same 2x2 output tiles, tile order, blocking and products as
// F(2x2, 3x3), on 6x6 input patches, so 36 products per tile and input channel instead of 100,
// 2.78× fewer. Its weight gradient stays on im2col+GEMM: written as the transpose of the
// forward pass (as for 3x3) it erred 6e-6 of Σ|terms| on a 512-deep layer, 40× im2col's, for
// 10 % of speed on AlexNet.
//
// The interpolation points are 0, ±1, ±2 and ∞, those of the widely used F(4x4, 3x3)
// (WinogradF4x3.swift), which shares this file's data transform and 6x6 input transform:
//   Bᵀ = [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0],
//         [0, −2, −1, 2, 1, 0], [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]]
//   G  = rows f_j·(1, p_j, p_j², p_j³, p_j⁴) with f = (¼, −⅙, −⅙, 1/24, 1/24) and (0, 0, 0, 0, 1)
//   Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 1]]
// Larger entries than F(2x2, 3x3)'s (5, 16/24) cost some accuracy; the tests state the bound.
// Each 2-D transform X ↦ L X Rᵀ applies the 1-D transform down columns, then along rows.

import CAtomics

/// What the 1-D transforms compute on: one value (filters) or eight tiles' values at once.
protocol WinogradLaneValue {
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Float, rhs: Self) -> Self
}

extension Float: WinogradLaneValue {}
extension SIMD8: WinogradLaneValue where Scalar == Float {}

enum WinogradF2x5 {
    /// Six values of a patch column, a transformed tile row, and so on.
    typealias Six<V> = (V, V, V, V, V, V)

    /// Bᵀ d: the data transform.
    @inline(__always)
    static func data<V: WinogradLaneValue>(_ d: Six<V>) -> Six<V> {
        let d2x4 = 4 * d.2, d1x4 = 4 * d.1
        return (
            4 * d.0 - 5 * d.2 + d.4, d.3 + d.4 - d1x4 - d2x4, d1x4 - d2x4 - d.3 + d.4,
            2 * (d.3 - d.1) - d.2 + d.4, 2 * (d.1 - d.3) - d.2 + d.4, d1x4 - 5 * d.3 + d.5
        )
    }

    /// G g: the filter transform of five taps.
    @inline(__always)
    static func filter<V: WinogradLaneValue>(_ g: (V, V, V, V, V)) -> Six<V> {
        let even = g.0 + g.2 + g.4, odd = g.1 + g.3
        let evenWeighted = g.0 + 4 * g.2 + 16 * g.4, oddWeighted = 2 * g.1 + 8 * g.3
        return (
            0.25 * g.0, (-1.0 / 6) * (even + odd), (-1.0 / 6) * (even - odd),
            (1.0 / 24) * (evenWeighted + oddWeighted), (1.0 / 24) * (evenWeighted - oddWeighted), g.4
        )
    }

    /// Aᵀ m: the output transform, six products to two outputs.
    @inline(__always)
    static func output<V: WinogradLaneValue>(_ m: Six<V>) -> (V, V) {
        (m.0 + m.1 + m.2 + m.3 + m.4, m.1 - m.2 + 2 * (m.3 - m.4) + m.5)
    }

    /// Vectors first, first + stride, …, first + 5·stride of a buffer of eight-lane vectors.
    @inline(__always)
    static func loadVectors(_ p: UnsafeMutablePointer<Float>, _ first: Int, _ stride: Int) -> Six<SIMD8<Float>> {
        @inline(__always) func at(_ i: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + 8 * (first + i * stride)).loadUnaligned(as: SIMD8<Float>.self)
        }
        return (at(0), at(1), at(2), at(3), at(4), at(5))
    }

    @inline(__always)
    static func storeVectors(_ s: Six<SIMD8<Float>>, _ p: UnsafeMutablePointer<Float>, _ first: Int, _ stride: Int) {
        @inline(__always) func at(_ i: Int) -> UnsafeMutableRawPointer {
            UnsafeMutableRawPointer(p + 8 * (first + i * stride))
        }
        at(0).storeBytes(of: s.0, as: SIMD8<Float>.self)
        at(1).storeBytes(of: s.1, as: SIMD8<Float>.self)
        at(2).storeBytes(of: s.2, as: SIMD8<Float>.self)
        at(3).storeBytes(of: s.3, as: SIMD8<Float>.self)
        at(4).storeBytes(of: s.4, as: SIMD8<Float>.self)
        at(5).storeBytes(of: s.5, as: SIMD8<Float>.self)
    }

    /// Six vectors of eight lanes at p, p + stride, …, p + 5·stride (floats, unaligned).
    @inline(__always)
    static func storeEightLanes(_ s: Six<SIMD8<Float>>, _ p: UnsafeMutablePointer<Float>, _ stride: Int) {
        let to = UnsafeMutableRawPointer(p)
        let bytes = stride * MemoryLayout<Float>.stride
        to.storeBytes(of: s.0, as: SIMD8<Float>.self)
        to.storeBytes(of: s.1, toByteOffset: bytes, as: SIMD8<Float>.self)
        to.storeBytes(of: s.2, toByteOffset: 2 * bytes, as: SIMD8<Float>.self)
        to.storeBytes(of: s.3, toByteOffset: 3 * bytes, as: SIMD8<Float>.self)
        to.storeBytes(of: s.4, toByteOffset: 4 * bytes, as: SIMD8<Float>.self)
        to.storeBytes(of: s.5, toByteOffset: 5 * bytes, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load<V>(_ p: UnsafePointer<V>, _ stride: Int) -> Six<V> {
        (p[0], p[stride], p[2 * stride], p[3 * stride], p[4 * stride], p[5 * stride])
    }

    @inline(__always)
    static func store<V>(_ s: Six<V>, _ p: UnsafeMutablePointer<V>, _ stride: Int) {
        p[0] = s.0
        p[stride] = s.1
        p[2 * stride] = s.2
        p[3 * stride] = s.3
        p[4 * stride] = s.4
        p[5 * stride] = s.5
    }
}

extension WinogradConvolution.Problem {
    /// U = G g Gᵀ of 5x5 filter f for channel c (rotated 180° and transposed for the input
    /// gradient), position ξ = 6i + j written at packed[ξ·stride]: F(2x2, 5x5)'s G. (3x3
    /// filters are transformed a panel at a time: WinogradFilterPanels.swift.)
    func transformFilterSixBySix(
        _ weight: UnsafePointer<Float>, filter f: Int, channel c: Int, rotated: Bool,
        into packed: UnsafeMutablePointer<Float>, stride: Int
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 25 + 30) { buffer in
            let k = buffer.baseAddress.unsafelyUnwrapped, columns = k + 25
            copyTaps(weight, filter: f, channel: c, rotated: rotated, into: k)
            // G down each of the five columns: a 6x5 matrix, row-major.
            for b in 0..<5 {
                let column = WinogradF2x5.filter((k[b], k[5 + b], k[10 + b], k[15 + b], k[20 + b]))
                WinogradF2x5.store(column, columns + b, 5)
            }
            for i in 0..<6 {
                let r = columns + 5 * i
                WinogradF2x5.store(WinogradF2x5.filter((r[0], r[1], r[2], r[3], r[4])), packed + 6 * i * stride, stride)
            }
        }
    }

    /// The scratch `transformInputSixBySix` needs: the 36 patch vectors of eight lanes, and
    /// 48 vectors staging the patches' rows (six per tile).
    static let patchScratchSize = 36 * 8 + 48 * 8

    /// V = Bᵀ d B on 6x6 patches (F(2x2, 5x5), F(4x4, 3x3)) for tiles and every channel of
    /// `source`, into `layout`, eight tiles per vector; tiles from tiles.count up to
    /// `paddedCount` get zeros. `patch` is `patchScratchSize` floats of the caller's scratch (a
    /// temporary allocation this size would come from the heap): each tile's six patch rows are
    /// loaded as vectors there, then transposed, eight tiles at a time, into 36 vectors of one
    /// patch position each (a lane-by-lane gather was 17 % of a ResNet-18 step).
    func transformInputSixBySix<Layout: WinogradTileLayout, Map: WinogradSourceMap>(
        _ source: UnsafePointer<Float>, map: Map, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>,
        layout: Layout, paddedCount: Int, patch lanes: UnsafeMutablePointer<Float>
    ) {
        let plane = layout.plane
        // Row y of lane t's patch at staged[8·(8y + t)].
        let staged = lanes + 36 * 8
        for c in 0..<channels {
            let channelMap = map.channel(c)
            var position = WinogradConvolution.TilePosition(tiles.lowerBound, self)
            var local = 0
            while local < paddedCount {
                let group = Swift.min(8, paddedCount - local)
                let filled = Swift.min(group, Swift.max(0, tiles.count - local))
                for lane in 0..<8 {
                    let top = outputTile * position.row - padTop, left = outputTile * position.column - padLeft
                    let image = source + (position.image * channels + c) * height * width
                    for y in 0..<6 {
                        // The next channel's row, needed one channel's work from now.
                        if lane < filled && c + 1 < channels && top + y >= 0 && top + y < height {
                            cnn_prefetch(image + height * width + (top + y) * width + Swift.max(0, left))
                        }
                        let row = lane < filled ? patchRow(image, top + y, left, channelMap) : SIMD8<Float>()
                        UnsafeMutableRawPointer(staged + 8 * (8 * y + lane)).storeBytes(of: row, as: SIMD8<Float>.self)
                    }
                    if lane < filled { position.advance(self) }
                }
                for y in 0..<6 {
                    let columns = SIMDTranspose.transpose(SIMDTranspose.load(staged + 64 * y))
                    WinogradF2x5.storeVectors(
                        (columns.0, columns.1, columns.2, columns.3, columns.4, columns.5), lanes, 6 * y, 1)
                }
                // Bᵀ down the columns, in place; then along each row into V.
                for x in 0..<6 {
                    WinogradF2x5.storeVectors(WinogradF2x5.data(WinogradF2x5.loadVectors(lanes, x, 6)), lanes, x, 6)
                }
                let offset = layout.offset(channel: c, tile: local)
                for y in 0..<6 {
                    let row = WinogradF2x5.data(WinogradF2x5.loadVectors(lanes, 6 * y, 1))
                    if group == 8 {
                        WinogradF2x5.storeEightLanes(row, v + 6 * y * plane + offset, plane)
                    } else {
                        for lane in 0..<group {
                            let at = v + 6 * y * plane + layout.offset(channel: c, tile: local + lane)
                            WinogradF2x5.store(
                                (row.0[lane], row.1[lane], row.2[lane], row.3[lane], row.4[lane], row.5[lane]),
                                at, plane)
                        }
                    }
                }
                local += group
            }
        }
    }

    /// Row y of a height×width plane from column `left`, its values mapped by `map`: lanes 0..<6
    /// hold the patch row (zero outside the plane), lanes 6 and 7 whatever follows it (one load
    /// where the eight columns lie inside the row).
    @inline(__always)
    private func patchRow<Map: ChannelValueMap>(_ plane: UnsafePointer<Float>, _ y: Int, _ left: Int, _ map: Map)
        -> SIMD8<Float>
    {
        guard y >= 0 && y < height else { return SIMD8() }
        let row = plane + y * width
        if left >= 0 && left + 8 <= width {
            return map.apply(UnsafeRawPointer(row + left).loadUnaligned(as: SIMD8<Float>.self))
        }
        var r = SIMD8<Float>()
        let first = Swift.min(6, Swift.max(0, -left))
        for x in first..<Swift.max(first, Swift.min(6, width - left)) { r[x] = map.apply(row[left + x]) }
        return r
    }

    /// Y = Aᵀ M A for eight tiles: `value(ξ)` is their products at position ξ = 6i + j.
    @inline(__always)
    func outputF2x5(_ value: (Int) -> SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        // Aᵀ down the six columns: two rows of six.
        var top = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        var bottom = top
        @inline(__always) func column(_ j: Int) -> (SIMD8<Float>, SIMD8<Float>) {
            WinogradF2x5.output((value(j), value(6 + j), value(12 + j), value(18 + j), value(24 + j), value(30 + j)))
        }
        (top.0, bottom.0) = column(0)
        (top.1, bottom.1) = column(1)
        (top.2, bottom.2) = column(2)
        (top.3, bottom.3) = column(3)
        (top.4, bottom.4) = column(4)
        (top.5, bottom.5) = column(5)
        let (y00, y01) = WinogradF2x5.output(top), (y10, y11) = WinogradF2x5.output(bottom)
        return (y00, y01, y10, y11)
    }
}
