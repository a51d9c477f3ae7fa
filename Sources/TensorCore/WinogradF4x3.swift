// Winograd F(4x4, 3x3) for every pass of 3x3 stride-1 convolutions:
// 4x4 output tiles from 6x6 input patches, 36 products per tile and input channel for 16
// outputs (2.25 per output) instead of F(2x2, 3x3)'s 16 for 4 (4 per output), so the products,
// most of the work, shrink 1.78× more. The points are F(2x2, 5x5)'s (0, ±1, ±2, ∞), so the data
// transform Bᵀ and the 6x6 input transform are shared (WinogradF2x5.swift); here are the rest:
//   G  = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙],
//         [0, 0, 1]]
//   Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0],
//         [0, 1, −1, 8, −8, 1]]
// Aᵀ's entries up to 8 cost accuracy against F(2x2, 3x3): the tests state the bound. The weight
// gradient, the transpose (WinogradWeightGradient.swift), runs dY through A and the summed
// products through Gᵀ: both are here.

import CAtomics

enum WinogradF4x3 {
    /// G g: the filter transform of three taps.
    @inline(__always)
    static func filter<V: WinogradLaneValue>(_ g: (V, V, V)) -> WinogradF2x5.Six<V> {
        let even = g.0 + g.2, evenWeighted = g.0 + 4 * g.2, oddWeighted = 2 * g.1
        return (
            0.25 * g.0, (-1.0 / 6) * (even + g.1), (-1.0 / 6) * (even - g.1),
            (1.0 / 24) * (evenWeighted + oddWeighted), (1.0 / 24) * (evenWeighted - oddWeighted), g.2
        )
    }

    /// Aᵀ m: the output transform, six products to four outputs.
    @inline(__always)
    static func output<V: WinogradLaneValue>(_ m: WinogradF2x5.Six<V>) -> (V, V, V, V) {
        let plusOne = m.1 + m.2, minusOne = m.1 - m.2, plusTwo = m.3 + m.4, minusTwo = m.3 - m.4
        return (
            m.0 + plusOne + plusTwo, minusOne + 2 * minusTwo, plusOne + 4 * plusTwo, minusOne + 8 * minusTwo + m.5
        )
    }

    /// A dy: the output gradient's transform, four outputs' gradients to six (the transpose of
    /// `output`).
    @inline(__always)
    static func gradient<V: WinogradLaneValue>(_ y: (V, V, V, V)) -> WinogradF2x5.Six<V> {
        let even = y.0 + y.2, odd = y.1 + y.3, evenWeighted = y.0 + 4 * y.2, oddWeighted = 2 * y.1 + 8 * y.3
        return (y.0, even + odd, even - odd, evenWeighted + oddWeighted, evenWeighted - oddWeighted, y.3)
    }

    /// Gᵀ u: six summed products' gradients to three taps' (the transpose of `filter`).
    @inline(__always)
    static func filterGradient<V: WinogradLaneValue>(_ u: WinogradF2x5.Six<V>) -> (V, V, V) {
        let plusOne = u.1 + u.2, minusOne = u.1 - u.2, plusTwo = u.3 + u.4, minusTwo = u.3 - u.4
        return (
            0.25 * u.0 + (-1.0 / 6) * plusOne + (1.0 / 24) * plusTwo,
            (-1.0 / 6) * minusOne + (1.0 / 12) * minusTwo,
            (-1.0 / 6) * plusOne + (1.0 / 6) * plusTwo + u.5
        )
    }

    /// Four outputs of eight tiles each.
    typealias Row = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// `interleave`'s inverse: 32 contiguous pixels, one row of eight tiles, as the tiles' four
    /// columns.
    @inline(__always)
    static func deinterleave(_ left: SIMD16<Float>, _ right: SIMD16<Float>) -> Row {
        let leftEven = left.evenHalf, leftOdd = left.oddHalf, rightEven = right.evenHalf, rightOdd = right.oddHalf
        return (
            SIMD8(lowHalf: leftEven.evenHalf, highHalf: rightEven.evenHalf),
            SIMD8(lowHalf: leftOdd.evenHalf, highHalf: rightOdd.evenHalf),
            SIMD8(lowHalf: leftEven.oddHalf, highHalf: rightEven.oddHalf),
            SIMD8(lowHalf: leftOdd.oddHalf, highHalf: rightOdd.oddHalf)
        )
    }

    /// One output row of eight horizontally adjacent tiles as 32 contiguous pixels:
    /// (r.0[0], r.1[0], r.2[0], r.3[0], r.0[1], …, r.3[7]), in two halves.
    @inline(__always)
    static func interleave(_ r: Row) -> (SIMD16<Float>, SIMD16<Float>) {
        let (a, b, c, d) = r
        return (
            SIMD16(a[0], b[0], c[0], d[0], a[1], b[1], c[1], d[1], a[2], b[2], c[2], d[2], a[3], b[3], c[3], d[3]),
            SIMD16(a[4], b[4], c[4], d[4], a[5], b[5], c[5], d[5], a[6], b[6], c[6], d[6], a[7], b[7], c[7], d[7])
        )
    }
}

extension WinogradConvolution.Problem {
    /// gradWeight = Gᵀ dU G of one filter and channel, dU[ξ] at u[ξ·plane] (ξ = 6i + j).
    @inline(__always)
    func filterGradientF4x3(_ u: UnsafePointer<Float>, plane: Int, into w: UnsafeMutablePointer<Float>) {
        // Gᵀ down each of the six columns: three rows of six; then along each row.
        @inline(__always) func column(_ j: Int) -> (Float, Float, Float) {
            WinogradF4x3.filterGradient(WinogradF2x5.load(u + j * plane, 6 * plane))
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        @inline(__always) func row(_ i: Int, _ r: WinogradF2x5.Six<Float>) {
            let taps = WinogradF4x3.filterGradient(r)
            w[3 * i] = taps.0
            w[3 * i + 1] = taps.1
            w[3 * i + 2] = taps.2
        }
        row(0, (c0.0, c1.0, c2.0, c3.0, c4.0, c5.0))
        row(1, (c0.1, c1.1, c2.1, c3.1, c4.1, c5.1))
        row(2, (c0.2, c1.2, c2.2, c3.2, c4.2, c5.2))
    }

    /// Y = Aᵀ M A for eight tiles, `value(ξ)` their products at ξ = 6i + j: the four output
    /// rows, each four outputs of eight tiles.
    @inline(__always)
    func outputF4x3(_ value: (Int) -> SIMD8<Float>)
        -> (WinogradF4x3.Row, WinogradF4x3.Row, WinogradF4x3.Row, WinogradF4x3.Row)
    {
        // Aᵀ down the six columns: four rows of six.
        @inline(__always) func column(_ j: Int) -> WinogradF4x3.Row {
            WinogradF4x3.output((value(j), value(6 + j), value(12 + j), value(18 + j), value(24 + j), value(30 + j)))
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        return (
            WinogradF4x3.output((c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)),
            WinogradF4x3.output((c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)),
            WinogradF4x3.output((c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)),
            WinogradF4x3.output((c0.3, c1.3, c2.3, c3.3, c4.3, c5.3))
        )
    }
}

extension WinogradConvolution.TileBlocks {
    /// Y = Aᵀ m A plus the bias into each tile's 4x4 outputs (clipped at the plane's edges),
    /// eight tiles at a time: their M values are contiguous.
    func transformOutputF4x3(tiles: Range<Int>, products m: UnsafePointer<Float>) {
        let p = problem
        let planeSize = p.outHeight * p.outWidth
        for f in 0..<p.filters {
            let offset = SIMD8<Float>(repeating: bias?[f] ?? 0)
            var position = WinogradConvolution.TilePosition(tiles.lowerBound, p)
            var local = 0
            while local < tiles.count {
                let lanes = Swift.min(8, tiles.count - local)
                let products = WinogradConvolution.EightTileProducts(m, filter: f, local: local, lanes: lanes, p)
                let y = p.outputF4x3 { products.at($0) }
                @inline(__always) func biased(_ r: WinogradF4x3.Row) -> WinogradF4x3.Row {
                    (r.0 + offset, r.1 + offset, r.2 + offset, r.3 + offset)
                }
                let rows = (biased(y.0), biased(y.1), biased(y.2), biased(y.3))
                let plane = output + (position.image * p.filters + f) * planeSize
                if lanes == 8 && position.column + 8 <= p.tilesWide && 4 * position.column + 32 <= p.outWidth
                    && 4 * position.row + 4 <= p.outHeight
                {
                    // Eight tiles of one row: each of their four output rows is 32 contiguous pixels.
                    let top = plane + 4 * position.row * p.outWidth + 4 * position.column
                    @inline(__always) func store(_ row: WinogradF4x3.Row, _ i: Int) {
                        let (left, right) = WinogradF4x3.interleave(row)
                        let at = UnsafeMutableRawPointer(top + i * p.outWidth)
                        at.storeBytes(of: left, as: SIMD16<Float>.self)
                        at.storeBytes(of: right, toByteOffset: 16 * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
                    }
                    store(rows.0, 0)
                    store(rows.1, 1)
                    store(rows.2, 2)
                    store(rows.3, 3)
                    for _ in 0..<8 { position.advance(p) }
                    local += 8
                    continue
                }
                for l in 0..<lanes {
                    let plane = output + (position.image * p.filters + f) * planeSize
                    let y0 = 4 * position.row, x0 = 4 * position.column
                    let columns = Swift.min(4, p.outWidth - x0)
                    @inline(__always) func store(_ row: WinogradF4x3.Row, _ i: Int) {
                        guard y0 + i < p.outHeight else { return }
                        let at = plane + (y0 + i) * p.outWidth + x0
                        at[0] = row.0[l]
                        if columns > 1 { at[1] = row.1[l] }
                        if columns > 2 { at[2] = row.2[l] }
                        if columns > 3 { at[3] = row.3[l] }
                    }
                    store(rows.0, 0)
                    store(rows.1, 1)
                    store(rows.2, 2)
                    store(rows.3, 3)
                    position.advance(p)
                }
                local += lanes
            }
        }
    }
}

extension WinogradConvolution.WeightGradientRuns {
    /// dM = A dY Aᵀ per tile and filter, dY the tile's 4x4 output gradient (zero past the
    /// plane's edges), row-major [ξ][filter][tile], ξ = 6i + j.
    func transformGradientF4x3(tiles: Range<Int>, into m: UnsafeMutablePointer<Float>) {
        let p = problem
        let blockTiles = WinogradConvolution.weightGradientBlockTiles
        let plane = p.filters * blockTiles
        let planeSize = p.outHeight * p.outWidth
        for k in 0..<p.filters {
            var position = WinogradConvolution.TilePosition(tiles.lowerBound, p)
            var local = 0
            while local < tiles.count {
                let lanes = Swift.min(8, tiles.count - local)
                let y0 = 4 * position.row, x0 = 4 * position.column
                let dy = gradOutput + (position.image * p.filters + k) * planeSize
                // dY row by row, each four values of eight tiles.
                let zero: WinogradF4x3.Row = (.zero, .zero, .zero, .zero)
                var dyRows = (zero, zero, zero, zero)
                if lanes == 8 && position.column + 8 <= p.tilesWide && x0 + 32 <= p.outWidth
                    && y0 + 4 <= p.outHeight
                {
                    // Eight tiles of one row: each of their four gradient rows is 32 contiguous pixels.
                    @inline(__always) func load(_ i: Int) -> WinogradF4x3.Row {
                        let row = dy + (y0 + i) * p.outWidth + x0
                        if k + 1 < p.filters {
                            cnn_prefetch(row + planeSize)
                            cnn_prefetch(row + planeSize + 16)
                        }
                        let at = UnsafeRawPointer(row)
                        let left = at.loadUnaligned(as: SIMD16<Float>.self)
                        let right = at.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                        return WinogradF4x3.deinterleave(left, right)
                    }
                    dyRows = (load(0), load(1), load(2), load(3))
                    for _ in 0..<8 { position.advance(p) }
                } else {
                    withUnsafeMutableBytes(of: &dyRows) { raw in
                        // Row i, column j, lane l at float (4i + j)·8 + l.
                        let lane = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Float.self)
                        for l in 0..<lanes {
                            let y0 = 4 * position.row, x0 = 4 * position.column
                            let dy = gradOutput + (position.image * p.filters + k) * planeSize
                            for i in 0..<Swift.min(4, p.outHeight - y0) {
                                let row = dy + (y0 + i) * p.outWidth + x0
                                // The next filter's row, needed one filter's work from now.
                                if k + 1 < p.filters { cnn_prefetch(row + planeSize) }
                                for j in 0..<Swift.min(4, p.outWidth - x0) { lane[(4 * i + j) * 8 + l] = row[j] }
                            }
                            position.advance(p)
                        }
                    }
                }
                // A down the four columns: six rows of four; then along each row into dM.
                let (r0, r1, r2, r3) = dyRows
                let c0 = WinogradF4x3.gradient((r0.0, r1.0, r2.0, r3.0))
                let c1 = WinogradF4x3.gradient((r0.1, r1.1, r2.1, r3.1))
                let c2 = WinogradF4x3.gradient((r0.2, r1.2, r2.2, r3.2))
                let c3 = WinogradF4x3.gradient((r0.3, r1.3, r2.3, r3.3))
                let at = m + k * blockTiles + local
                @inline(__always) func row(_ i: Int, _ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                    let six = WinogradF4x3.gradient(r)
                    if lanes == 8 {
                        WinogradF2x5.storeEightLanes(six, at + 6 * i * plane, plane)
                    } else {
                        for l in 0..<lanes {
                            WinogradF2x5.store(
                                (six.0[l], six.1[l], six.2[l], six.3[l], six.4[l], six.5[l]), at + 6 * i * plane + l,
                                plane)
                        }
                    }
                }
                row(0, (c0.0, c1.0, c2.0, c3.0))
                row(1, (c0.1, c1.1, c2.1, c3.1))
                row(2, (c0.2, c1.2, c2.2, c3.2))
                row(3, (c0.3, c1.3, c2.3, c3.3))
                row(4, (c0.4, c1.4, c2.4, c3.4))
                row(5, (c0.5, c1.5, c2.5, c3.5))
                local += lanes
            }
        }
    }
}
