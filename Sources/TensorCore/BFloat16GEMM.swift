import CBFloat16Kernels

// bfloat16 matrix multiply: C = alpha · op(A)·op(B) + beta · C from Float32 operands rounded
// to bf16 (ties to even), products accumulated in Float32, as torch.autocast's bf16 matmul.
//
// The hardware paths (AMX, AVX512-BF16) pack op(A) into 32-row panels and op(B) into
// VNNI-paired 32-column panels over the whole depth (rounding Float32 operands while packing,
// taking bf16-bits operands as they are, `Operand`; zero-padding k to a multiple of 32), then
// a C micro-kernel computes each 32×32 block of C over the full depth: straight into C for a
// whole row panel with alpha 1 and beta 0, otherwise into a Float32 buffer that alpha and beta
// fold into C. B is packed once per NC-wide column block and shared by all threads. With
// several column blocks op(A) is packed once for all of them (`PackedA`); with one, each thread
// packs the A panels it uses. Every element of C comes from one kernel call in a fixed order,
// so results do not depend on the thread count. The emulated path rounds copies of the
// operands and runs the Float32 GEMM: exact Float32 arithmetic on bf16 values.

public enum BFloat16GEMM {
    /// Rows of a packed A panel and columns of a packed B panel: two AMX tiles each way.
    static let panel = 32
    /// Columns of C per packed B block (NC): 16 panels; for k = 4608 (VGG's 3×3×512) the
    /// block is 4608 × 512 bf16 = 4.5 MiB, in L3 while every row panel sweeps it.
    static let blockColumns = 512
    /// Values of one kblock of one packed panel: 32 × 32.
    static let blockValues = 1024

    static let scratch = ScratchPool()
    /// Whole packed left operands (products of several column blocks): a pool of their own, so
    /// the per-thread buffers above do not all grow to op(A)'s size. (A convolution packs its
    /// weights into its own pool, whose buffers hold column matrices of about that size.)
    static let packedAScratch = ScratchPool()
    /// The largest op(A) packed whole (in Floats of storage, 8 MiB): every buffer of its pool
    /// grows to it, and the pool keeps one per thread plus one.
    static let wholeLeftOperandFloats = 1 << 21

    /// The micro-kernel behind a packed path; `reference` is the same contract in Swift
    /// (VDPBF16PS's order of additions), so tests check the packing where the CPU has neither.
    enum PanelKernel {
        case amx, avx512bf16, reference
    }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C with A and B rounded to bf16 and Float32
    /// accumulation; the contract of `GEMM.multiply` otherwise (row-major, beta 0 never reads C).
    /// With `roundsResult` C is rounded to bf16 too (autocast's bf16 result), on the hardware paths
    /// as each row is written rather than in a pass of its own; the fp32 path never rounds.
    public static func multiply(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        threads: Int = Parallel.threadCount, isa: BFloat16ISA = BFloat16ISA.active, roundsResult: Bool = false
    ) {
        switch isa {
        case .fp32:
            GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
        case .emulated:
            multiplyEmulated(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
            if roundsResult { roundRows(c, m: m, n: n, ldc: ldc) }
        case .amx, .avx512bf16:
            multiplyPacked(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: .float32(a), lda: lda, b: .float32(b), ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads,
                kernel: isa == .amx ? .amx : .avx512bf16, roundsResult: roundsResult)
        }
    }

    /// C = beta · C over its m×n window (zeros for beta 0, whatever C held), rounded with `roundsResult`.
    static func scale(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, by beta: Float, roundsResult: Bool) {
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
        }
        if roundsResult { roundRows(c, m: m, n: n, ldc: ldc) }
    }

    /// Rounds C's m×n window to bf16.
    static func roundRows(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int) {
        guard n > 0 else { return }
        if ldc == n {
            BFloat16Rounding.roundInParallel(c, into: c, count: m * n)
        } else {
            for i in 0..<m { BFloat16Rounding.roundInPlace(c + i * ldc, count: n) }
        }
    }

    /// Rounds compact copies of op(A) and op(B)'s storage, then the Float32 GEMM.
    static func multiplyEmulated(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        guard m > 0 && n > 0 && k > 0 else {
            GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
            return
        }
        // Stored shapes: A is m×k (or k×m transposed), B is k×n (or n×k).
        let (aRows, aColumns) = transposeA ? (k, m) : (m, k)
        let (bRows, bColumns) = transposeB ? (n, k) : (k, n)
        scratch.withScratch(aRows * aColumns + bRows * bColumns) { copies in
            let roundedA = copies, roundedB = copies + aRows * aColumns
            for row in 0..<aRows {
                BFloat16Rounding.round(a + row * lda, into: roundedA + row * aColumns, count: aColumns)
            }
            for row in 0..<bRows {
                BFloat16Rounding.round(b + row * ldb, into: roundedB + row * bColumns, count: bColumns)
            }
            GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: roundedA, lda: aColumns, b: roundedB, ldb: bColumns, beta: beta, c: c, ldc: ldc,
                threads: threads)
        }
    }

    /// The blocked loop of the hardware paths (and of `reference`, in tests), on Float32 or bf16-bits operands.
    static func multiplyPacked(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: Operand, lda: Int, b: Operand, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int,
        kernel: PanelKernel, roundsResult: Bool = false
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BFloat16GEMM: negative size \(m)x\(n)x\(k)")
        guard m > 0 && n > 0 else { return }
        if k == 0 || alpha == 0 {
            // Nothing to multiply: C = beta · C, as the Float32 GEMM leaves it.
            scale(c, m: m, n: n, ldc: ldc, by: beta, roundsResult: roundsResult)
            return
        }
        let workers = Swift.max(1, Swift.min(threads, m * n * k / GEMM.workPerThread))
        guard n > blockColumns && PackedA.storageFloats(m: m, k: k) <= wholeLeftOperandFloats else {
            // One column block uses each A panel once: packing all of op(A) first would save no
            // work and hold m·k values in each of the pool's buffers (one per thread, plus one).
            // A large op(A) over several blocks is packed again per block rather than held whole.
            multiplyBlocks(
                left: .unpacked(transposed: transposeA, a: a, lda: lda, m: m, k: k), transposeB: transposeB, n: n,
                alpha: alpha, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, workers: workers, kernel: kernel,
                roundsResult: roundsResult)
            return
        }
        // Several column blocks: op(A) packed once for all of them (packing per block converted
        // and rearranged all of A again per 512 columns of C).
        packedAScratch.withScratch(PackedA.storageFloats(m: m, k: k)) { storage in
            let packedA = pack(transposeA: transposeA, m: m, k: k, a: a, lda: lda, into: storage, threads: workers)
            multiplyBlocks(
                left: .packed(packedA), transposeB: transposeB, n: n, alpha: alpha, b: b, ldb: ldb, beta: beta,
                c: c, ldc: ldc, workers: workers, kernel: kernel, roundsResult: roundsResult)
        }
    }

    /// C[m×n] = alpha · A · op(B) + beta · C with A packed by `pack`: every column block of op(B)
    /// is packed once (shared by the threads) and multiplied by A's row panels.
    static func multiply(
        packedA: PackedA, transposeB: Bool, n: Int, alpha: Float = 1, b: Operand, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int, kernel: PanelKernel,
        roundsResult: Bool = false
    ) {
        let (m, k) = (packedA.m, packedA.k)
        guard m > 0 && n > 0 else { return }
        guard k > 0 else {
            // An empty product: C = beta · C, as the Float32 GEMM leaves it.
            scale(c, m: m, n: n, ldc: ldc, by: beta, roundsResult: roundsResult)
            return
        }
        let workers = Swift.max(1, Swift.min(threads, m * n * k / GEMM.workPerThread))
        multiplyBlocks(
            left: .packed(packedA), transposeB: transposeB, n: n, alpha: alpha, b: b, ldb: ldb, beta: beta, c: c,
            ldc: ldc, workers: workers, kernel: kernel, roundsResult: roundsResult)
    }

    /// Every column block of op(B), packed once and shared by the threads, times `left`'s row panels.
    static func multiplyBlocks(
        left: LeftOperand, transposeB: Bool, n: Int, alpha: Float, b: Operand, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, workers: Int, kernel: PanelKernel, roundsResult: Bool
    ) {
        let (k, kblocks) = (left.k, left.kblocks)
        let maxColumnPanels = (Swift.min(n, blockColumns) + panel - 1) / panel
        // Packed B block (bf16, two per Float of scratch).
        scratch.withScratch(maxColumnPanels * kblocks * blockValues / 2) { packedBStorage in
            let packedB = UnsafeMutableRawPointer(packedBStorage).bindMemory(
                to: UInt16.self, capacity: maxColumnPanels * kblocks * blockValues)
            var jc = 0
            while jc < n {
                let columns = Swift.min(blockColumns, n - jc)
                let columnPanels = (columns + panel - 1) / panel
                let packing = PackBPanels(
                    transposed: transposeB, b: b, ldb: ldb, k: k, kblocks: kblocks,
                    column0: jc, columns: columns, into: packedB)
                runSplit(columnPanels, parts: workers, packing)
                // Fewer row panels than threads (a batch of 8 times a weight matrix): the threads
                // split the column panels too, or all but one would wait.
                let columnGroups = left.rowPanels >= workers ? 1 : Swift.min(columnPanels, workers)
                let rows = RowPanels(
                    left: left, packedB: packedB, column0: jc, columns: columns, columnGroups: columnGroups,
                    alpha: alpha, beta: beta, c: c, ldc: ldc, kernel: kernel, roundsResult: roundsResult)
                runSplit(left.rowPanels * columnGroups, parts: workers, rows)
                jc += columns
            }
        }
    }

    /// Runs `body` over 0..<count in at most `parts` contiguous ranges, one per thread (the
    /// caller's thread count, not `Parallel.threadCount`, bounds them, as in `GEMM.multiply`).
    static func runSplit<Body: ParallelBody>(_ count: Int, parts: Int, _ body: Body) {
        let parts = Swift.min(parts, count)
        if parts <= 1 {
            body.run(0..<count)
        } else {
            Parallel.forEachRange(parts, Split(body: body, count: count, parts: parts))
        }
    }

    /// Part p of a split loop: indices [p·count/parts, (p+1)·count/parts).
    struct Split<Body: ParallelBody>: ParallelBody {
        let body: Body, count: Int, parts: Int

        func run(_ range: Range<Int>) {
            for part in range {
                let start = part * count / parts, end = (part + 1) * count / parts
                if start < end { body.run(start..<end) }
            }
        }
    }

    /// Packs the 32-column panels `range` of op(B)[0..<k, column0..<column0+columns].
    struct PackBPanels: ParallelBody {
        let transposed: Bool, b: Operand, ldb: Int, k: Int, kblocks: Int
        let column0: Int, columns: Int, into: UnsafeMutablePointer<UInt16>

        func run(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            let start = range.lowerBound * panel
            packB(
                transposed: transposed, b, ldb: ldb, k: k, kblocks: kblocks, column0: column0 + start,
                columns: Swift.min(range.count * panel, columns - start),
                into: into + range.lowerBound * kblocks * blockValues)
        }
    }

    /// Tiles `range` of C's column block, each a row panel times one of `columnGroups` runs of
    /// its column panels: the micro-kernel over those packed B panels into a Float32 buffer,
    /// folded into C with alpha and beta.
    struct RowPanels: ParallelBody {
        let left: LeftOperand
        let packedB: UnsafeMutablePointer<UInt16>, column0: Int, columns: Int, columnGroups: Int
        let alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, kernel: PanelKernel
        let roundsResult: Bool

        func run(_ range: Range<Int>) {
            let columnPanels = (columns + panel - 1) / panel
            let resultStride = columnPanels * panel
            let panelValues = left.tileScratchValues
            scratch.withScratch(panel * resultStride + panelValues / 2) { result in
                let panelScratch = UnsafeMutableRawPointer(result + panel * resultStride).bindMemory(
                    to: UInt16.self, capacity: panelValues)
                var loadedPanel = -1
                for tile in range {
                    let rowPanel = tile / columnGroups, group = tile % columnGroups
                    let firstPanel = group * columnPanels / columnGroups
                    let endPanel = (group + 1) * columnPanels / columnGroups
                    guard firstPanel < endPanel else { continue }
                    let row0 = rowPanel * panel
                    let rows = Swift.min(panel, left.m - row0)
                    let first = firstPanel * panel, end = Swift.min(columns, endPanel * panel)
                    let aPanel = left.rowPanel(rowPanel, scratch: panelScratch, scratchHolds: &loadedPanel)
                    if beta == 0 && alpha == 1 && rows == panel {
                        writeDirectly(
                            aPanel, rowPanel: rowPanel, firstPanel: firstPanel, endPanel: endPanel, result: result,
                            resultStride: resultStride)
                        continue
                    }
                    runKernel(
                        kernel, a: aPanel, b: packedB + firstPanel * left.kblocks * blockValues,
                        c: result + first, ldc: resultStride, kblocks: left.kblocks,
                        columnPanels: endPanel - firstPanel)
                    for i in 0..<rows {
                        let source = result + i * resultStride
                        let target = c + (row0 + i) * ldc + column0
                        if beta == 0 {
                            for j in first..<end { target[j] = alpha * source[j] }
                        } else {
                            for j in first..<end { target[j] = alpha * source[j] + beta * target[j] }
                        }
                        if roundsResult { BFloat16Rounding.roundInPlace(target + first, count: end - first) }
                    }
                }
            }
        }

        /// C = A·B for a full row panel: the kernel writes whole column panels straight into C
        /// (no buffer to write, read back and copy), and a ragged last panel goes through `result`.
        @inline(__always)
        func writeDirectly(
            _ aPanel: UnsafePointer<UInt16>, rowPanel: Int, firstPanel: Int, endPanel: Int,
            result: UnsafeMutablePointer<Float>, resultStride: Int
        ) {
            let row0 = rowPanel * panel
            let target = c + row0 * ldc + column0
            let fullEnd = Swift.min(endPanel, columns / panel)
            if fullEnd > firstPanel {
                runKernel(
                    kernel, a: aPanel, b: packedB + firstPanel * left.kblocks * blockValues,
                    c: target + firstPanel * panel, ldc: ldc, kblocks: left.kblocks,
                    columnPanels: fullEnd - firstPanel)
            }
            if fullEnd < endPanel {
                let first = fullEnd * panel
                runKernel(
                    kernel, a: aPanel, b: packedB + fullEnd * left.kblocks * blockValues,
                    c: result + first, ldc: resultStride, kblocks: left.kblocks, columnPanels: endPanel - fullEnd)
                for i in 0..<panel {
                    (target + i * ldc + first).update(from: result + i * resultStride + first, count: columns - first)
                }
            }
            if roundsResult {
                let start = firstPanel * panel, end = Swift.min(columns, endPanel * panel)
                for i in 0..<panel { BFloat16Rounding.roundInPlace(target + i * ldc + start, count: end - start) }
            }
        }
    }

    /// Tests set `reference` here to run the hardware paths' packing and blocking (and the
    /// convolutions' lowering for them) on the Swift stand-in of the micro-kernels, on CPUs
    /// without AMX or AVX512-BF16. Set it before a product, not during one.
    nonisolated(unsafe) static var kernelOverride: PanelKernel?

    @inline(__always)
    static func runKernel(
        _ kernel: PanelKernel, a: UnsafePointer<UInt16>, b: UnsafePointer<UInt16>,
        c: UnsafeMutablePointer<Float>, ldc: Int, kblocks: Int, columnPanels: Int
    ) {
        switch kernelOverride ?? kernel {
        case .amx: cnn_bf16_amx_panel(a, b, c, ldc, kblocks, columnPanels)
        case .avx512bf16: cnn_bf16_avx512_panel(a, b, c, ldc, kblocks, columnPanels)
        case .reference: referencePanel(a: a, b: b, c: c, ldc: ldc, kblocks: kblocks, columnPanels: columnPanels)
        }
    }

    /// The micro-kernels' contract in scalar Swift, adding each k pair's odd product then its
    /// even one onto the Float32 sum as VDPBF16PS specifies (both products are exact).
    static func referencePanel(
        a: UnsafePointer<UInt16>, b: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>,
        ldc: Int, kblocks: Int, columnPanels: Int
    ) {
        @inline(__always) func value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
        for cb in 0..<columnPanels {
            let bp = b + cb * kblocks * blockValues
            for i in 0..<panel {
                let aRow = a + (i / 16) * 512 + (i % 16) * 32
                for j in 0..<panel {
                    let bColumn = bp + (j / 16) * 512 + (j % 16) * 2
                    var sum: Float = 0
                    for kb in 0..<kblocks {
                        for p in 0..<16 {
                            let x = aRow + kb * blockValues + 2 * p, y = bColumn + kb * blockValues + p * 32
                            sum += value(x[1]) * value(y[1])
                            sum += value(x[0]) * value(y[0])
                        }
                    }
                    c[i * ldc + cb * panel + j] = sum
                }
            }
        }
    }
}
