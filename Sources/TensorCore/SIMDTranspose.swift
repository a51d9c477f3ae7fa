// An 8x8 transpose of eight-lane vectors, for the Winograd transforms and the GEMM's packing:
// rows are loaded one vector each and transposed so that each vector holds one column (for
// Winograd, one patch position of eight tiles; for the GEMM, one k step of a packed panel).
// A 16x16 transpose of 32-bit words, for the bf16 GEMM's packing of transposed operands: each
// word is a pair of bf16, and each transposed vector one 64-byte row of a packed tile.

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

/// Sixteen vectors of sixteen 32-bit words: the rows of a 16x16 matrix.
typealias SixteenWordRows = (
    SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>,
    SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>,
    SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>, SIMD16<UInt32>
)

extension SIMDTranspose {
    /// The 256 words r.0 ‖ … ‖ r.15, even-indexed first, then odd: each output vector is one
    /// two-source permute of a pair of rows.
    @inline(__always)
    static func unshuffle(_ r: SixteenWordRows) -> SixteenWordRows {
        @inline(__always) func pair(_ x: SIMD16<UInt32>, _ y: SIMD16<UInt32>) -> SIMD32<UInt32> {
            SIMD32(lowHalf: x, highHalf: y)
        }
        let p0 = pair(r.0, r.1), p1 = pair(r.2, r.3), p2 = pair(r.4, r.5), p3 = pair(r.6, r.7)
        let p4 = pair(r.8, r.9), p5 = pair(r.10, r.11), p6 = pair(r.12, r.13), p7 = pair(r.14, r.15)
        return (p0.evenHalf, p1.evenHalf, p2.evenHalf, p3.evenHalf, p4.evenHalf, p5.evenHalf, p6.evenHalf,
                p7.evenHalf, p0.oddHalf, p1.oddHalf, p2.oddHalf, p3.oddHalf, p4.oddHalf, p5.oddHalf, p6.oddHalf,
                p7.oddHalf)
    }

    /// The transpose: four unshuffles rotate the eight index bits by four, which swaps the row
    /// bits with the column bits.
    @inline(__always)
    static func transpose(_ r: SixteenWordRows) -> SixteenWordRows { unshuffle(unshuffle(unshuffle(unshuffle(r)))) }

    /// r.i at `to + i·strideBytes` for each of the sixteen vectors.
    @inline(__always)
    static func store(_ r: SixteenWordRows, to: UnsafeMutableRawPointer, strideBytes s: Int) {
        to.storeBytes(of: r.0, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.1, toByteOffset: s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.2, toByteOffset: 2 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.3, toByteOffset: 3 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.4, toByteOffset: 4 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.5, toByteOffset: 5 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.6, toByteOffset: 6 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.7, toByteOffset: 7 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.8, toByteOffset: 8 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.9, toByteOffset: 9 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.10, toByteOffset: 10 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.11, toByteOffset: 11 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.12, toByteOffset: 12 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.13, toByteOffset: 13 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.14, toByteOffset: 14 * s, as: SIMD16<UInt32>.self)
        to.storeBytes(of: r.15, toByteOffset: 15 * s, as: SIMD16<UInt32>.self)
    }
}
