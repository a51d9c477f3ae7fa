// bfloat16: the top half of a Float32 (sign, 8-bit exponent, 7-bit mantissa). Conversion
// from Float32 rounds to nearest, ties to even, as PyTorch's c10::BFloat16 and
// VCVTNEPS2BF16 do; the exponent range is Float32's, so overflow happens only within one
// bf16 ulp of Float.greatestFiniteMagnitude and subnormals stay subnormal (PyTorch keeps them;
// the AVX512-BF16/AMX instructions treat subnormal inputs as zero, which only matters for
// values below 1.2e-38). NaN stays NaN, made quiet, with its sign and the top of its payload
// (c10 returns the canonical 0x7FC0 instead: the same NaN for every purpose but its bits).

/// A bfloat16 value, stored as its 16 bits.
public struct BFloat16: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// The bfloat16 nearest to `value` (ties to even).
    @inline(__always)
    public init(_ value: Float) {
        bitPattern = UInt16(truncatingIfNeeded: BFloat16.roundedBits(value.bitPattern) >> 16)
    }

    /// The exact Float32 value of this bfloat16.
    @inline(__always)
    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    public var description: String { "\(floatValue)" }

    /// `value` rounded to the nearest bfloat16, as a Float32 (low 16 bits zero). Inlinable, and
    /// branch-free, so loops in other modules that call it stay vectorised.
    @inlinable @inline(__always)
    public static func round(_ value: Float) -> Float { Float(bitPattern: roundedBits(value.bitPattern)) }

    /// `round` on eight lanes.
    @inlinable @inline(__always)
    public static func round(_ values: SIMD8<Float>) -> SIMD8<Float> {
        let x = unsafeBitCast(values, to: SIMD8<UInt32>.self)
        let nearest = (x &+ 0x7FFF &+ ((x &>> 16) & 1)) & 0xFFFF_0000
        let quietNaN = (x | 0x0040_0000) & 0xFFFF_0000
        // All ones in NaN lanes: a magnitude above infinity's bits borrows into bit 31.
        let isNaN = SIMD8<UInt32>(repeating: 0) &- ((SIMD8<UInt32>(repeating: 0x7F80_0000) &- (x & 0x7FFF_FFFF)) &>> 31)
        return unsafeBitCast((nearest & ~isNaN) | (quietNaN & isNaN), to: SIMD8<Float>.self)
    }

    /// The Float32 bits of the bfloat16 nearest to the Float32 with bits `x`, low half zero.
    @usableFromInline @inline(__always)
    static func roundedBits(_ x: UInt32) -> UInt32 {
        // Adding 0x7FFF plus the lowest kept bit carries into the kept half exactly when
        // the dropped half is above one half, or equal with an odd kept half (ties to even).
        // A carry out of the mantissa bumps the exponent, which is the correct rounding,
        // and from the largest finite binade it lands on infinity.
        let nearest = (x &+ 0x7FFF &+ ((x &>> 16) & 1)) & 0xFFFF_0000
        let quietNaN = (x | 0x0040_0000) & 0xFFFF_0000  // NaN: quiet, keep sign
        return x & 0x7FFF_FFFF > 0x7F80_0000 ? quietNaN : nearest
    }
}

public enum BFloat16Rounding {
    /// destination[i] = source[i] rounded to bfloat16 (as Float32); the two may be the same buffer.
    public static func round(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        // A branch-free loop over the bits, which LLVM vectorises; SIMD16<UInt32> with
        // `replacing(with:where:)` cost 7 ns a value (bench gemm --precision bf16, n = 512).
        let s = UnsafeRawPointer(source).assumingMemoryBound(to: UInt32.self)
        let d = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { d[i] = BFloat16.roundedBits(s[i]) }
    }

    /// Rounds every value of `buffer` to bfloat16 in place.
    public static func roundInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        round(buffer, into: buffer, count: count)
    }

    /// destination[i] = the bfloat16 bits of source[i]: the packed form the bf16 kernels read, and
    /// what a bf16 all-reduce sends.
    @inline(__always)
    public static func convert(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>,
                               count: Int) {
        convert(source, intoBits: UnsafeMutableRawPointer(destination), count: count)
    }

    /// The bfloat16 bits of source[i] stored at byte 2·i of `destination` (a `.bfloat16`
    /// tensor's storage), sixteen lanes at a time (`BFloat16Lanes`, as the bf16 GEMM packs).
    public static func convert(_ source: UnsafePointer<Float>, intoBits destination: UnsafeMutableRawPointer,
                               count: Int) {
        var i = 0
        while i + 16 <= count {
            let halves = BFloat16Lanes.roundedHighHalves(BFloat16Lanes.load(source + i, count: 16))
            destination.storeBytes(of: halves, toByteOffset: 2 * i, as: SIMD16<UInt16>.self)
            i += 16
        }
        if i < count {
            let halves = BFloat16Lanes.roundedHighHalves(BFloat16Lanes.load(source + i, count: count - i))
            for lane in 0..<(count - i) {
                destination.storeBytes(of: halves[lane], toByteOffset: 2 * (i + lane), as: UInt16.self)
            }
        }
    }

    /// destination[i] = the Float32 value of the bf16 bits at byte 2·i of `bits` (exact), eight
    /// lanes at a time.
    public static func expand(bits: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let source = BFloat16Values(bits), d = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 8 <= count {
            d.storeBytes(of: source.load8(i), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { destination[i] = source.load(i); i += 1 }
    }

    /// destination[i] = the Float32 value of the bfloat16 bits source[i] (exact).
    public static func expand(_ source: UnsafePointer<UInt16>, into destination: UnsafeMutablePointer<Float>,
                              count: Int) {
        expand(bits: UnsafeRawPointer(source), into: destination, count: count)
    }
}

extension BFloat16Rounding {
    /// Below this many values one thread rounds: about 20 µs, several times a worker's wake-up.
    static let valuesPerThread = 1 << 16

    /// `round(_:into:count:)` spread over the worker threads in contiguous chunks of whole
    /// 16-value vectors (the result does not depend on the split); for activations and gradients.
    public static func roundInParallel(
        _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        let chunks = (count + 15) / 16
        Parallel.forEachRange(
            chunks, minimumChunk: valuesPerThread / 16,
            RoundChunks(source: source, destination: destination, count: count))
    }

    /// `convert(_:intoBits:count:)` spread over the worker threads as `roundInParallel` is.
    public static func convertInParallel(
        _ source: UnsafePointer<Float>, intoBits destination: UnsafeMutableRawPointer, count: Int
    ) {
        let chunks = (count + 15) / 16
        Parallel.forEachRange(
            chunks, minimumChunk: valuesPerThread / 16,
            ConvertChunks(source: source, destination: destination, count: count))
    }

    /// `expand(bits:into:count:)` spread over the worker threads.
    public static func expandInParallel(bits: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>,
                                        count: Int) {
        Parallel.forEachRange(
            (count + 15) / 16, minimumChunk: valuesPerThread / 16,
            ExpandChunks(bits: bits, destination: destination, count: count))
    }

    struct ExpandChunks: ParallelBody {
        let bits: UnsafeRawPointer, destination: UnsafeMutablePointer<Float>, count: Int

        func run(_ range: Range<Int>) {
            let start = range.lowerBound * 16, end = Swift.min(count, range.upperBound * 16)
            if start < end { expand(bits: bits + 2 * start, into: destination + start, count: end - start) }
        }
    }

    struct ConvertChunks: ParallelBody {
        let source: UnsafePointer<Float>, destination: UnsafeMutableRawPointer, count: Int

        func run(_ range: Range<Int>) {
            let start = range.lowerBound * 16, end = Swift.min(count, range.upperBound * 16)
            if start < end { convert(source + start, intoBits: destination + 2 * start, count: end - start) }
        }
    }

    struct RoundChunks: ParallelBody {
        let source: UnsafePointer<Float>, destination: UnsafeMutablePointer<Float>, count: Int

        func run(_ range: Range<Int>) {
            let start = range.lowerBound * 16, end = Swift.min(count, range.upperBound * 16)
            if start < end { round(source + start, into: destination + start, count: end - start) }
        }
    }
}
