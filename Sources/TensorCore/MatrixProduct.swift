/// The matrix product under a lowered convolution: the Float32 SGEMM, or the bf16 GEMM on
/// AMX or AVX512-BF16 for a layer computing in bf16 (which rounds its operands as it packs them).
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
}
