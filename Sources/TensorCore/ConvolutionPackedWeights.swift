// A lowered convolution's weights packed once per call, as the left operand of every product
// the call makes (each image or chunk, each column block, each thread of a split product), in
// the layout of whichever GEMM the layer's product runs.

/// Weights packed for the Float32 GEMM's or the bf16 GEMM's register kernels.
enum PackedWeights {
    case float32(GEMM.PackedA)
    case bfloat16(BFloat16GEMM.PackedA, BFloat16GEMM.PanelKernel)

    /// C [m × n] = packed · B [k × n], overwritten.
    @inline(__always)
    func multiply(n: Int, b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        multiply(n: n, b: .float32(b), ldb: ldb, c: c, ldc: ldc, threads: threads)
    }

    /// C [m × n] = packed · B [k × n], overwritten; B may be bf16 bits only for bf16 weights.
    @inline(__always)
    func multiply(n: Int, b: BFloat16GEMM.Operand, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        switch (self, b) {
        case (.float32(let packed), .float32(let values)):
            GEMM.multiply(
                packedA: packed, transposeB: false, n: n, b: values, ldb: ldb, c: c, ldc: ldc, threads: threads)
        case (.float32, .bits):
            preconditionFailure("PackedWeights: Float32 weights times bf16 bits (only the bf16 GEMM reads bits)")
        case (.bfloat16(let packed, let kernel), _):
            BFloat16GEMM.multiply(
                packedA: packed, transposeB: false, n: n, b: b, ldb: ldb, c: c, ldc: ldc, threads: threads,
                kernel: kernel)
        }
    }
}

extension BFloat16GEMM.PanelKernel {
    /// The micro-kernel of a hardware path; nil for the paths that run the Float32 GEMM.
    init?(_ isa: BFloat16ISA) {
        switch isa {
        case .amx: self = .amx
        case .avx512bf16: self = .avx512bf16
        case .emulated, .fp32: return nil
        }
    }
}

extension Convolution {
    /// Whether lowered convolutions pack their weights once per call (`withPackedWeights`);
    /// tests turn it off to compare with packing per product.
    nonisolated(unsafe) static var packsWeightsOnce = true

    /// Runs `body` with the weights packed once as the left operand of every product the call
    /// makes (forward: W; input gradient, `transposed`: Wᵀ), or with nil for grouped
    /// convolutions, whose products pack their own.
    @inline(__always)
    static func withPackedWeights(
        _ g: ConvolutionGeometry, _ l: Lowering, _ weight: UnsafePointer<Float>,
        transposed: Bool, _ body: (PackedWeights?) -> Void
    ) {
        guard packsWeightsOnce && g.groups == 1 else { return body(nil) }
        let (m, k) = transposed ? (l.depth, l.filters) : (l.filters, l.depth)
        switch l.product {
        case .float32:
            scratch.withScratch(GEMM.PackedA.count(m: m, k: k, shape: GEMM.kernelShape)) { storage in
                body(.float32(GEMM.pack(transposeA: transposed, m: m, k: k, a: weight, lda: l.depth, into: storage)))
            }
        case .bfloat16(let isa):
            guard let kernel = BFloat16GEMM.PanelKernel(isa) else { return body(nil) }
            // The convolution's own pool, as for Float32: its buffers already hold column
            // matrices about this size, where the GEMM's would all grow to the largest weights.
            scratch.withScratch(BFloat16GEMM.PackedA.storageFloats(m: m, k: k)) { storage in
                let packed = BFloat16GEMM.pack(
                    transposeA: transposed, m: m, k: k, a: .float32(weight), lda: l.depth, into: storage)
                body(.bfloat16(packed, kernel))
            }
        }
    }
}
