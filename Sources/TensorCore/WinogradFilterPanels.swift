// The filter transform U = G g Gᵀ of 3x3 filters, one packed-A panel at a time: the panel's
// filters (up to eight) for one channel are the lanes of eight-lane vectors, so each position
// ξ of U is one store of the panel's contiguous values. One filter at a time, the transform
// (36 scattered stores per filter and channel, and the index arithmetic of each) took 7 % of
// a ResNet-18 step; it runs on every forward and input-gradient call, after each optimizer step.
// The arithmetic per lane is the scalar transform's, so U is the same to the bit.

extension WinogradConvolution.Problem {
    /// U of filters firstFilter ..< firstFilter + shape.rows for channel c (zeros for the
    /// padding filters past `filters`), position ξ's values at into[ξ·plane ..< ξ·plane + mr]:
    /// F(2x2, 3x3)'s 16 positions (patchSide 4) or F(4x4, 3x3)'s 36.
    @inline(__always)
    func transformFilterPanel3x3(
        _ weight: UnsafePointer<Float>, firstFilter: Int, channel c: Int, rotated: Bool,
        into packed: UnsafeMutablePointer<Float>, plane: Int
    ) {
        let k = panelTaps(weight, firstFilter: firstFilter, channel: c, rotated: rotated)
        let mr = shape.rows
        @inline(__always) func store(_ u: SIMD8<Float>, _ xi: Int) {
            let at = packed + xi * plane
            if mr == 8 {
                UnsafeMutableRawPointer(at).storeBytes(of: u, as: SIMD8<Float>.self)
            } else {
                for lane in 0..<mr { at[lane] = u[lane] }
            }
        }
        if patchSide == 4 {
            // G down each of the three columns, then along each of the four rows of G g.
            let column0 = Self.filterF2x3((k.0, k.3, k.6))
            let column1 = Self.filterF2x3((k.1, k.4, k.7))
            let column2 = Self.filterF2x3((k.2, k.5, k.8))
            @inline(__always) func row(_ i: Int, _ taps: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
                let u = Self.filterF2x3(taps)
                store(u.0, 4 * i)
                store(u.1, 4 * i + 1)
                store(u.2, 4 * i + 2)
                store(u.3, 4 * i + 3)
            }
            row(0, (column0.0, column1.0, column2.0))
            row(1, (column0.1, column1.1, column2.1))
            row(2, (column0.2, column1.2, column2.2))
            row(3, (column0.3, column1.3, column2.3))
            return
        }
        let column0 = WinogradF4x3.filter((k.0, k.3, k.6))
        let column1 = WinogradF4x3.filter((k.1, k.4, k.7))
        let column2 = WinogradF4x3.filter((k.2, k.5, k.8))
        @inline(__always) func row(_ i: Int, _ taps: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
            let u = WinogradF4x3.filter(taps)
            store(u.0, 6 * i)
            store(u.1, 6 * i + 1)
            store(u.2, 6 * i + 2)
            store(u.3, 6 * i + 3)
            store(u.4, 6 * i + 4)
            store(u.5, 6 * i + 5)
        }
        row(0, (column0.0, column1.0, column2.0))
        row(1, (column0.1, column1.1, column2.1))
        row(2, (column0.2, column1.2, column2.2))
        row(3, (column0.3, column1.3, column2.3))
        row(4, (column0.4, column1.4, column2.4))
        row(5, (column0.5, column1.5, column2.5))
    }

    /// G g of F(2x2, 3x3), G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
    @inline(__always)
    static func filterF2x3(_ g: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>))
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    {
        (g.0, 0.5 * (g.0 + g.1 + g.2), 0.5 * (g.0 - g.1 + g.2), g.2)
    }

    typealias NineTaps = (
        SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
        SIMD8<Float>, SIMD8<Float>
    )

    /// Tap t (row-major, as `copyTaps`) of filter firstFilter + lane in lane `lane` of vector t;
    /// zero for lanes past the panel or past `filters`.
    @inline(__always)
    func panelTaps(_ weight: UnsafePointer<Float>, firstFilter: Int, channel c: Int, rotated: Bool) -> NineTaps {
        var taps: NineTaps = (.zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero)
        let lanes = Swift.min(shape.rows, filters - firstFilter)
        withUnsafeMutableBytes(of: &taps) { raw in
            let k = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Float.self)
            for lane in 0..<lanes {
                let f = firstFilter + lane
                if rotated {
                    let w = weight + (c * filters + f) * 9
                    for t in 0..<9 { k[8 * t + lane] = w[8 - t] }
                } else {
                    let w = weight + (f * channels + c) * 9
                    for t in 0..<9 { k[8 * t + lane] = w[t] }
                }
            }
        }
        return taps
    }
}
