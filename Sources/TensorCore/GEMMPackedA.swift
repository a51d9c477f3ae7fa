// A left operand packed once for several products. A lowered convolution multiplies the same
// weights by each image's (or chunk's) columns: packing op(A) inside every call copied the
// whole weight matrix again per image, and per 2,048-column block of a large image (ResNet-50
// b16 on Zen 3: a tenth of its GEMM time). `GEMM.pack(transposeA:…)` writes every depth slice's
// panels as `multiplyBlock` would pack them, and `GEMM.multiply(packedA:…)` reads them in
// place: the same values through the same sweep, so bitwise the same results.

extension GEMM {
    /// op(A) [m × k], packed in the order `multiplyBlock` reads it: the depth slice at pc (of
    /// depth kc) starts at pc · paddedRows, and in it the rows from ic (a multiple of the
    /// register tile's height) start at ic · kc.
    public struct PackedA {
        let values: UnsafePointer<Float>
        let m: Int, k: Int
        /// The register tile it was packed for: the product must run the same one.
        let shape: GEMMKernelShape

        var paddedRows: Int { GEMM.roundUp(m, shape.rows) }

        /// Floats `pack` writes for op(A) [m × k].
        static func count(m: Int, k: Int, shape: GEMMKernelShape) -> Int { GEMM.roundUp(m, shape.rows) * k }

        /// The packed rows from `row` of the slice at `sliceStart` (of depth `sliceDepth`).
        @inline(__always)
        func panels(sliceStart pc: Int, sliceDepth kc: Int, row ic: Int) -> UnsafePointer<Float> {
            values + pc * paddedRows + ic * kc
        }
    }

    /// Packs op(A) [m × k] (A, or Aᵀ with `transposeA`, as in `multiply`) into `storage`, which
    /// holds at least `PackedA.count(m:k:shape:)` floats, for the register tile in use; with
    /// `threads` > 1 its depth slices are packed in parallel on the worker pool.
    static func pack(
        transposeA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        into storage: UnsafeMutablePointer<Float>, threads: Int = Parallel.threadCount
    ) -> PackedA {
        let packed = PackedA(values: UnsafePointer(storage), m: m, k: k, shape: kernelShape)
        let slices = (k + blockDepth - 1) / blockDepth
        let body = PackSlices(transposeA: transposeA, a: a, lda: lda, packed: packed, storage: storage)
        if threads > 1 && slices > 1 {
            Parallel.forEachRange(slices, body)
        } else {
            body.run(0..<slices)
        }
        return packed
    }

    /// Packs the depth slices in a range, each as `multiplyBlock` slices k.
    struct PackSlices: ParallelBody {
        let transposeA: Bool
        let a: UnsafePointer<Float>, lda: Int
        let packed: PackedA
        let storage: UnsafeMutablePointer<Float>

        func run(_ range: Range<Int>) {
            let k = packed.k
            guard k > 0 else { return }
            let slices = (k + blockDepth - 1) / blockDepth
            let sliceDepth = (k + slices - 1) / slices
            for slice in range {
                let pc = slice * sliceDepth
                guard pc < k else { continue }
                let kc = Swift.min(sliceDepth, k - pc)
                packA(
                    transposed: transposeA, a, lda: lda, row0: 0, col0: pc, rows: packed.m, depth: kc, alpha: 1,
                    panelHeight: packed.shape.rows, into: storage + pc * packed.paddedRows)
            }
        }
    }

    /// C[m×n] = op(A) · op(B) + beta · C with op(A) packed by `pack`: `multiply`'s contract
    /// (alpha 1), and its results bit for bit.
    static func multiply(
        packedA: PackedA, transposeB: Bool, n: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        threads: Int = Parallel.threadCount
    ) {
        guard packedA.k > 0 else {
            // Nothing packed to multiply: multiply's C = beta · C.
            multiply(
                transposeA: false, transposeB: transposeB, m: packedA.m, n: n, k: 0, a: packedA.values, lda: 1,
                b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
            return
        }
        run(
            transposeA: false, transposeB: transposeB, m: packedA.m, n: n, k: packedA.k, alpha: 1,
            a: packedA.values, lda: 0, packedA: packedA, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
            threads: threads, shape: packedA.shape)
    }
}
