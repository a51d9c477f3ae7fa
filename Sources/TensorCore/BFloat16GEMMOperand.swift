// What the bf16 GEMM packs: Float32 values, rounded to bf16 as they are packed, or bf16 bits,
// packed as they are. A bf16 layer keeps the activations a convolution reads as bits
// (`TensorElement.bfloat16`); lowering them as bits spares widening each image to Float32
// only for the packing to round it back, and halves the column matrix.

extension BFloat16GEMM {
    /// A matrix operand as stored, row-major with its leading dimension given beside it.
    public enum Operand {
        case float32(UnsafePointer<Float>)
        /// bf16 bit patterns; NaNs must be quiet already (packing copies them unchanged, where
        /// rounding a Float32 NaN quiets it), as every bf16 rounding here leaves them.
        case bits(UnsafePointer<UInt16>)

        /// The operand `offset` elements on.
        @inline(__always)
        public static func + (operand: Operand, offset: Int) -> Operand {
            switch operand {
            case .float32(let values): return .float32(values + offset)
            case .bits(let bits): return .bits(bits + offset)
            }
        }
    }
}

/// Reads an operand's values as bf16 bits in the shapes the packing stores: 16 consecutive
/// values, or pair words of two k values. Generic packing loops over the two conformances
/// are specialised for each, so the Float32 one compiles to what the loops did inline.
protocol BFloat16PackSource {
    /// Values offset ..< offset+count (count ≤ 16) as bits, zeros in the lanes after them.
    func halves(_ offset: Int, count: Int) -> SIMD16<UInt16>
    /// Lane j: bits of value even+j in the low half, of value odd+j in the high half; the first
    /// `evenCount` even and `oddCount` odd values, zeros after them.
    func pairWords(even: Int, evenCount: Int, odd: Int, oddCount: Int) -> SIMD16<UInt32>
    /// Lane p: bits of value offset+2p (low half) and offset+2p+1 (high), of the first `count`
    /// (≤ 32) values, zeros after them.
    func consecutivePairWords(_ offset: Int, count: Int) -> SIMD16<UInt32>
}

/// Float32 values, rounded to bf16 (ties to even, NaN quieted) as they are read.
struct Float32PackSource: BFloat16PackSource {
    let values: UnsafePointer<Float>

    @inline(__always)
    func halves(_ offset: Int, count: Int) -> SIMD16<UInt16> {
        BFloat16Lanes.roundedHighHalves(BFloat16Lanes.load(values + offset, count: count))
    }

    @inline(__always)
    func pairWords(even: Int, evenCount: Int, odd: Int, oddCount: Int) -> SIMD16<UInt32> {
        BFloat16Lanes.pairWords(
            even: BFloat16Lanes.load(values + even, count: evenCount),
            odd: BFloat16Lanes.load(values + odd, count: oddCount))
    }

    @inline(__always)
    func consecutivePairWords(_ offset: Int, count: Int) -> SIMD16<UInt32> {
        BFloat16Lanes.consecutivePairWords(
            BFloat16Lanes.load(values + offset, count: Swift.min(16, count)),
            BFloat16Lanes.load(values + offset + 16, count: Swift.max(0, count - 16)))
    }
}

/// bf16 bits, read as they are.
struct BitsPackSource: BFloat16PackSource {
    let bits: UnsafePointer<UInt16>

    @inline(__always)
    func halves(_ offset: Int, count: Int) -> SIMD16<UInt16> { BFloat16Lanes.loadBits(bits + offset, count: count) }

    @inline(__always)
    func pairWords(even: Int, evenCount: Int, odd: Int, oddCount: Int) -> SIMD16<UInt32> {
        BFloat16Lanes.pairWords(
            evenBits: BFloat16Lanes.loadBits(bits + even, count: evenCount),
            oddBits: BFloat16Lanes.loadBits(bits + odd, count: oddCount))
    }

    @inline(__always)
    func consecutivePairWords(_ offset: Int, count: Int) -> SIMD16<UInt32> {
        // The values' bits in memory order are the words themselves.
        if count == 32 { return UnsafeRawPointer(bits + offset).loadUnaligned(as: SIMD16<UInt32>.self) }
        let halves = SIMD32<UInt16>(
            lowHalf: BFloat16Lanes.loadBits(bits + offset, count: Swift.min(16, count)),
            highHalf: BFloat16Lanes.loadBits(bits + offset + 16, count: Swift.max(0, count - 16)))
        return unsafeBitCast(halves, to: SIMD16<UInt32>.self)
    }
}
