// Sixteen Float32 lanes at a time rounded to bfloat16 (ties to even, NaN quieted), in the
// shapes the bf16 GEMM's packing stores: high halves, or pairs of bf16 in 32-bit words as
// VDPBF16PS and AMX read them. Branch-free integer arithmetic on SIMD16<UInt32>, which LLVM
// keeps in vector registers; the results equal `BFloat16(value).bitPattern` lane by lane.

enum BFloat16Lanes {
    /// `count` (0...16) values from `source`, zeros in the lanes after them; never reads past them.
    @inline(__always)
    static func load(_ source: UnsafePointer<Float>, count: Int) -> SIMD16<UInt32> {
        if count == 16 { return UnsafeRawPointer(source).loadUnaligned(as: SIMD16<UInt32>.self) }
        var lanes = SIMD16<UInt32>(repeating: 0)
        for lane in 0..<count { lanes[lane] = source[lane].bitPattern }
        return lanes
    }

    /// The Float32 bits of each lane rounded to bfloat16: `BFloat16.roundedBits` on 16 lanes.
    @inline(__always)
    static func rounded(_ x: SIMD16<UInt32>) -> SIMD16<UInt32> {
        let nearest = (x &+ 0x7FFF &+ ((x &>> 16) & 1)) & 0xFFFF_0000
        let quietNaN = (x | 0x0040_0000) & 0xFFFF_0000
        // All ones in NaN lanes: a magnitude above infinity's bits borrows into bit 31.
        let magnitude = x & 0x7FFF_FFFF
        let isNaN = SIMD16<UInt32>(repeating: 0) &- ((SIMD16<UInt32>(repeating: 0x7F80_0000) &- magnitude) &>> 31)
        return (nearest & ~isNaN) | (quietNaN & isNaN)
    }

    /// The 16 bfloat16 bit patterns of `x`'s lanes.
    @inline(__always)
    static func roundedHighHalves(_ x: SIMD16<UInt32>) -> SIMD16<UInt16> {
        // A lane loop, not SIMD16's generic init(truncatingIfNeeded:), which stayed an
        // out-of-line call per vector.
        let bits = rounded(x) &>> 16
        var halves = SIMD16<UInt16>()
        for lane in 0..<16 { halves[lane] = UInt16(truncatingIfNeeded: bits[lane]) }
        return halves
    }

    /// Lane j: bf16(even[j]) in the low half, bf16(odd[j]) in the high half (k values 2p and
    /// 2p+1 of one column, as a VNNI B row holds them).
    @inline(__always)
    static func pairWords(even: SIMD16<UInt32>, odd: SIMD16<UInt32>) -> SIMD16<UInt32> {
        (rounded(even) &>> 16) | rounded(odd)
    }

    /// `count` (0...16) bf16 bit patterns from `source`, zeros in the lanes after them; never
    /// reads past them.
    @inline(__always)
    static func loadBits(_ source: UnsafePointer<UInt16>, count: Int) -> SIMD16<UInt16> {
        if count == 16 { return UnsafeRawPointer(source).loadUnaligned(as: SIMD16<UInt16>.self) }
        var lanes = SIMD16<UInt16>(repeating: 0)
        for lane in 0..<count { lanes[lane] = source[lane] }
        return lanes
    }

    /// Lane j: `even[j]` in the low half, `odd[j]` in the high half: `pairWords` of values
    /// already in bf16.
    @inline(__always)
    static func pairWords(evenBits even: SIMD16<UInt16>, oddBits odd: SIMD16<UInt16>) -> SIMD16<UInt32> {
        var words = SIMD16<UInt32>()
        for lane in 0..<16 { words[lane] = UInt32(even[lane]) | UInt32(odd[lane]) << 16 }
        return words
    }

    /// Lane p: bf16 of value 2p in the low half and of value 2p+1 in the high half, for the 32
    /// consecutive values `low` (0..<16) and `high` (16..<32): their bf16 in memory order.
    @inline(__always)
    static func consecutivePairWords(_ low: SIMD16<UInt32>, _ high: SIMD16<UInt32>) -> SIMD16<UInt32> {
        let halves = SIMD32<UInt16>(lowHalf: roundedHighHalves(low), highHalf: roundedHighHalves(high))
        return unsafeBitCast(halves, to: SIMD16<UInt32>.self)
    }

    /// Stores lane l of `words` at `target + l·strideBytes`.
    @inline(__always)
    static func scatter(_ words: SIMD16<UInt32>, to target: UnsafeMutableRawPointer, strideBytes: Int) {
        for lane in 0..<16 { target.storeBytes(of: words[lane], toByteOffset: lane * strideBytes, as: UInt32.self) }
    }
}
