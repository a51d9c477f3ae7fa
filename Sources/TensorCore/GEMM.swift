// Single-precision matrix multiply (row-major SGEMM), the engine under convolution and
// linear layers.
//
// BLIS-style blocking: for each NC-wide column block and KC-deep slice, a KC×NC panel of
// op(B) is packed (it stays in L3/L2), then for each MC-tall row block an MC×KC panel of
// op(A) is packed (it stays in L2), and the register kernel (8×32 with AVX-512, 6×16 with
// AVX2) sweeps the block with one B micro-panel (KC×32, 32 KiB; KC×16 with AVX2) in L1.
// Threads split C into disjoint row or column ranges, each running the whole blocked loop on
// its own part with its own packing buffers: no barriers, and every element of C is computed
// by the same sequence of operations whatever the thread count, so results do not depend on
// it. (They do depend on the register tile, which is fixed per build.) A caller multiplying one
// op(A) by several B (a convolution's weights by each image) packs it once instead
// (GEMMPackedA.swift).


public enum GEMM {
    /// Depth of a packed slice (KC): one 8×KC A micro-panel (8 KiB) plus one KC×32 B
    /// micro-panel (32 KiB) fit a 48 KiB L1 together.
    static let blockDepth = 256
    /// Rows of a packed A block (MC, a multiple of 8 and of 6): MC×KC floats = 192 KiB, in L2.
    static let blockRows = 192
    /// Columns of a packed B block (NC, a multiple of 32): KC×NC floats = 2 MiB, in L3.
    static let blockColumns = 2048
    /// Multiply-adds a thread must get before another thread is worth starting (about
    /// 15 µs of work, several times the cost of waking a worker). Tests lower it to
    /// exercise the split on small products.
    nonisolated(unsafe) static var workPerThread = 1 << 19

    /// Packing panels, borrowed per worker and returned, so a warm call allocates nothing.
    static let scratch = ScratchPool()

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C  (row-major, leading dimensions in elements)
    ///
    /// op(A) is A (m×k, `lda` ≥ k) or, with `transposeA`, Aᵀ where A is k×m (`lda` ≥ m);
    /// likewise op(B). When beta is 0, C is only written, never read (it may hold NaN).
    /// Runs on at most `threads` threads; small products run on the calling thread, so
    /// callers inside their own parallel loop pass `threads: 1`.
    public static func multiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                threads: Int = Parallel.threadCount) {
        precondition(m >= 0 && n >= 0 && k >= 0, "GEMM: negative size \(m)x\(n)x\(k)")
        guard m > 0 && n > 0 else { return }
        if k == 0 || alpha == 0 {
            // Nothing to multiply: C = beta · C (and A, B are not read, as in BLAS).
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 {
                    row.update(repeating: 0, count: n)
                } else if beta != 1 {
                    for j in 0..<n { row[j] *= beta }
                }
            }
            return
        }

        // Read once: the packing, the scratch sizes and the sweep must agree on the tile.
        run(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
            packedA: nil, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads, shape: kernelShape)
    }

    /// `multiply` for k > 0 and alpha ≠ 0 on `shape`'s register tile, with op(A) packed here
    /// or, given `packedA`, already (`a`, `lda` and `transposeA` are then unused).
    static func run(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                    a: UnsafePointer<Float>, lda: Int, packedA: PackedA?, b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int, shape: GEMMKernelShape) {
        guard m > 0 && n > 0 && k > 0 else { return }
        let work = m * n * k
        let workers = Swift.max(1, Swift.min(threads, work / workPerThread))
        // Split the longer side of C, in whole tiles, so every worker has full tiles.
        let splitColumns = n >= m
        let units = splitColumns ? (n + shape.columns - 1) / shape.columns : (m + shape.rows - 1) / shape.rows
        let parts = Swift.min(workers, units)

        let partition = Partition(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, packedA: packedA, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                                  splitColumns: splitColumns, units: units, parts: parts, shape: shape)
        if parts <= 1 {
            partition.run(0..<1)
        } else {
            Parallel.forEachRange(parts, partition)
        }
    }

    /// Part p of C: a run of whole tiles along its longer side, multiplied on one thread.
    struct Partition: ParallelBody {
        let transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float
        let a: UnsafePointer<Float>, lda: Int, packedA: PackedA?, b: UnsafePointer<Float>, ldb: Int
        let beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
        let splitColumns: Bool, units: Int, parts: Int, shape: GEMMKernelShape

        func run(_ range: Range<Int>) {
            for part in range {
                let unit = splitColumns ? shape.columns : shape.rows
                let extent = splitColumns ? n : m
                let start = Swift.min(extent, part * units / parts * unit)
                let end = Swift.min(extent, (part + 1) * units / parts * unit)
                guard start < end else { continue }
                multiplyBlock(transposeA: transposeA, transposeB: transposeB,
                              rows: splitColumns ? 0..<m : start..<end, columns: splitColumns ? start..<end : 0..<n,
                              k: k, alpha: alpha, a: a, lda: lda, packedA: packedA, b: b, ldb: ldb, beta: beta,
                              c: c, ldc: ldc, shape: shape)
            }
        }
    }

    /// The blocked loop over one rectangle of C, on the calling thread; op(A)'s blocks are
    /// packed here unless `packedA` holds them.
    static func multiplyBlock(transposeA: Bool, transposeB: Bool, rows: Range<Int>, columns: Range<Int>,
                              k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, packedA prepacked: PackedA?,
                              b: UnsafePointer<Float>, ldb: Int,
                              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, shape: GEMMKernelShape) {
        // Even depth slices (k = 300 → 150 + 150, not 256 + 44) keep every slice efficient.
        let slices = (k + blockDepth - 1) / blockDepth
        let sliceDepth = (k + slices - 1) / slices
        let maxColumns = roundUp(Swift.min(columns.count, blockColumns), shape.columns)
        let maxRows = prepacked == nil ? roundUp(Swift.min(rows.count, blockRows), shape.rows) : 0

        scratch.withScratch(sliceDepth * (maxColumns + maxRows)) { workspace in
            let packedB = workspace
            let packedA = workspace + sliceDepth * maxColumns
            var jc = columns.lowerBound
            while jc < columns.upperBound {
                let nc = Swift.min(blockColumns, columns.upperBound - jc)
                var pc = 0
                while pc < k {
                    let kc = Swift.min(sliceDepth, k - pc)
                    // Later slices accumulate onto what the first slice wrote.
                    let sliceBeta: Float = pc == 0 ? beta : 1
                    packB(transposed: transposeB, b, ldb: ldb, row0: pc, col0: jc, depth: kc, columns: nc,
                          panelWidth: shape.columns, into: packedB)
                    var ic = rows.lowerBound
                    while ic < rows.upperBound {
                        let mc = Swift.min(blockRows, rows.upperBound - ic)
                        let blockA: UnsafePointer<Float>
                        if let prepacked {
                            blockA = prepacked.panels(sliceStart: pc, sliceDepth: kc, row: ic)
                        } else {
                            packA(transposed: transposeA, a, lda: lda, row0: ic, col0: pc, rows: mc, depth: kc,
                                  alpha: alpha, panelHeight: shape.rows, into: packedA)
                            blockA = UnsafePointer(packedA)
                        }
                        multiplyPanels(rows: mc, columns: nc, depth: kc, packedA: blockA, packedB: packedB,
                                       c: c + ic * ldc + jc, ldc: ldc, beta: sliceBeta, shape: shape)
                        ic += mc
                    }
                    pc += kc
                }
                jc += nc
            }
        }
    }

    /// Sweeps the register kernel over a packed MC×KC block of A and KC×NC block of B.
    @inline(__always)
    static func multiplyPanels(rows mc: Int, columns nc: Int, depth kc: Int,
                               packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
                               c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, shape: GEMMKernelShape) {
        // Two copies of the sweep, so each inlines its own kernel with constant tile sizes.
        switch shape {
        case .rows8Columns32:
            var jr = 0
            while jr < nc {
                let bPanel = packedB + jr * kc
                var ir = 0
                while ir < mc {
                    multiplyTile(depth: kc, a: packedA + ir * kc, b: bPanel, c: c + ir * ldc + jr, ldc: ldc,
                                 rows: Swift.min(8, mc - ir), columns: Swift.min(32, nc - jr), beta: beta)
                    ir += 8
                }
                jr += 32
            }
        case .rows6Columns16:
            var jr = 0
            while jr < nc {
                let bPanel = packedB + jr * kc
                var ir = 0
                while ir < mc {
                    multiplyTile6x16(depth: kc, a: packedA + ir * kc, b: bPanel, c: c + ir * ldc + jr, ldc: ldc,
                                     rows: Swift.min(6, mc - ir), columns: Swift.min(16, nc - jr), beta: beta)
                    ir += 6
                }
                jr += 16
            }
        }
    }

    @inline(__always)
    static func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }

    /// Reference implementation with the same contract as `multiply` (triple loop, Double
    /// accumulation); for tests only.
    public static func naiveMultiply(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                                     b: UnsafePointer<Float>, ldb: Int,
                                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                                     threads: Int = Parallel.threadCount) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                let product = Double(alpha) * sum
                c[i * ldc + j] = beta == 0 ? Float(product) : Float(product + Double(beta) * Double(c[i * ldc + j]))
            }
        }
    }
}
