// An 8x8 transpose of eight-lane vectors, for the Winograd transforms and the GEMM's packing:
// rows are loaded one vector each and transposed so that each vector holds one column (for
// Winograd, one patch position of eight tiles; for the GEMM, one k step of a packed panel).

/// Eight vectors of eight lanes: the rows of an 8x8 matrix.
typealias EightByEight = (
    SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>
)

enum SIMDTranspose {
    /// The 64 floats r.0 ‖ r.1 ‖ … ‖ r.7, even-indexed ones first, then the odd ones (a perfect
    /// unshuffle): element i, with index bits b5…b0, moves to b0 b5 b4 b3 b2 b1.
    @inline(__always)
    static func unshuffle(_ r: EightByEight) -> EightByEight {
        let a = SIMD16(lowHalf: r.0, highHalf: r.1), b = SIMD16(lowHalf: r.2, highHalf: r.3)
        let c = SIMD16(lowHalf: r.4, highHalf: r.5), d = SIMD16(lowHalf: r.6, highHalf: r.7)
        return (a.evenHalf, b.evenHalf, c.evenHalf, d.evenHalf, a.oddHalf, b.oddHalf, c.oddHalf, d.oddHalf)
    }

    /// The transpose: three unshuffles rotate the six index bits by three, which swaps the row
    /// bits (b5 b4 b3) with the column bits (b2 b1 b0).
    @inline(__always)
    static func transpose(_ r: EightByEight) -> EightByEight { unshuffle(unshuffle(unshuffle(r))) }

    /// Eight vectors at p, p + 8, …, p + 56 (floats).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> EightByEight {
        let raw = UnsafeRawPointer(p)
        @inline(__always) func at(_ i: Int) -> SIMD8<Float> {
            raw.loadUnaligned(fromByteOffset: 32 * i, as: SIMD8<Float>.self)
        }
        return (at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7))
    }

    /// r.i at to + i·stride (floats) for each of the eight vectors.
    @inline(__always)
    static func store(_ r: EightByEight, to: UnsafeMutablePointer<Float>, stride: Int) {
        let o = UnsafeMutableRawPointer(to), bytes = stride * MemoryLayout<Float>.stride
        o.storeBytes(of: r.0, as: SIMD8<Float>.self)
        o.storeBytes(of: r.1, toByteOffset: bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.2, toByteOffset: 2 * bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.3, toByteOffset: 3 * bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.4, toByteOffset: 4 * bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.5, toByteOffset: 5 * bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.6, toByteOffset: 6 * bytes, as: SIMD8<Float>.self)
        o.storeBytes(of: r.7, toByteOffset: 7 * bytes, as: SIMD8<Float>.self)
    }
}
