/// The matrix product under a lowered convolution: the Float32 SGEMM, or the bf16 GEMM on
/// AMX or AVX512-BF16 for a layer computing in bf16 (which rounds Float32 operands as it packs
/// them, and packs bf16 bits as they are).
///
/// On other CPUs a bf16 layer keeps `.float32`: the Float32 kernels (direct ones included) on
/// bf16-rounded operands are the exact emulation, and as fast as anything this CPU has.
public enum MatrixProduct: Equatable, Sendable {
    case float32
    case bfloat16(BFloat16ISA)

    /// The product for a layer computing in `precision` with `isa`'s instructions.
    public static func forPrecision(_ precision: ComputePrecision, isa: BFloat16ISA = BFloat16ISA.active)
        -> MatrixProduct
    {
        guard precision == .bf16 else { return .float32 }
        switch isa {
        case .amx, .avx512bf16: return .bfloat16(isa)
        case .emulated, .fp32: return .float32
        }
    }

    /// GEMM.multiply's contract, on this product's kernels.
    @inline(__always)
    func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        switch self {
        case .float32:
            GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
        case .bfloat16(let isa):
            BFloat16GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads, isa: isa)
        }
    }

    /// Whether this product packs bf16 bits as they are (AMX or AVX512-BF16), so a lowered
    /// convolution may hand it bits operands.
    public var readsBFloat16Bits: Bool {
        guard case .bfloat16(let isa) = self else { return false }
        return BFloat16GEMM.PanelKernel(isa) != nil
    }

    /// `multiply` with operands that may be bf16 bits: Float32 ones on any product, bits only on
    /// one that `readsBFloat16Bits` (which rounds Float32 operands as it packs them, as always).
    @inline(__always)
    func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: BFloat16GEMM.Operand, lda: Int, b: BFloat16GEMM.Operand, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        if case .float32(let aValues) = a, case .float32(let bValues) = b {
            multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: aValues, lda: lda,
                b: bValues, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
            return
        }
        guard case .bfloat16(let isa) = self, let kernel = BFloat16GEMM.PanelKernel(isa) else {
            preconditionFailure("MatrixProduct: \(self) cannot read bf16 bits; only AMX and AVX512-BF16 pack them")
        }
        BFloat16GEMM.multiplyPacked(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda,
            b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads, kernel: kernel)
    }
}
