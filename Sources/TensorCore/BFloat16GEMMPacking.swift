// Packing for the bf16 GEMM's hardware paths: Float32 operands rounded to bf16 (or bf16 bits
// as they are, `Operand`) into the layouts the C micro-kernels read (CBFloat16Kernels.h),
// zero-padded to whole panels and whole 32-deep k blocks so the kernels never run partial tiles.
//
// Every packed value is written once, 16 lanes at a time: a scalar loop with the layout's
// index arithmetic per value took 28 % of a 2048³ product on AVX512-BF16 (Zen 5), as long as
// a third of the multiplies. Lanes past the operand's edge (rows, columns or k) are zeros.

extension BFloat16GEMM {
    /// op(A)[row0 ..< row0+rows, 0 ..< k] as [kblock][row tile: 2][row: 16][k: 32].
    static func packA(
        transposed: Bool, _ a: Operand, lda: Int, row0: Int, rows: Int, k: Int,
        kblocks: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        switch a {
        case .float32(let values):
            packA(transposed: transposed, Float32PackSource(values: values), lda: lda, row0: row0, rows: rows, k: k,
                  kblocks: kblocks, into: packed)
        case .bits(let bits):
            packA(transposed: transposed, BitsPackSource(bits: bits), lda: lda, row0: row0, rows: rows, k: k,
                  kblocks: kblocks, into: packed)
        }
    }

    @inline(__always)
    static func packA<Source: BFloat16PackSource>(
        transposed: Bool, _ a: Source, lda: Int, row0: Int, rows: Int, k: Int,
        kblocks: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        if !transposed {
            // op(A)[i][q] = a[i·lda + q]: each row is contiguous in k, so 16 k values are one load
            // and their bf16 halves one 32-byte store. Row by row, so each stored row streams in
            // order (32 rows a kblock at a time kept 32 streams open; the loads waited on memory).
            for i in 0..<panel {
                let present = i < rows
                let source = (row0 + i) * lda
                let row = UnsafeMutableRawPointer(packed + (i / 16) * 512 + (i % 16) * 32)
                for kb in 0..<kblocks {
                    let q = kb * 32
                    let run = Swift.min(32, k - q)
                    for half in 0..<2 {
                        let count = present ? Swift.max(0, Swift.min(16, run - 16 * half)) : 0
                        let bits = a.halves(source + q + 16 * half, count: count)
                        let offset = 2 * kb * blockValues + 32 * half
                        row.storeBytes(of: bits, toByteOffset: offset, as: SIMD16<UInt16>.self)
                    }
                }
            }
        } else {
            // op(A)[i][q] = a[q·lda + i]: k rows q and q+1 over 16 matrix rows give those rows'
            // pair words of one k pair; a kblock's 16 pairs, transposed in registers, are the 16
            // rows' packed 64-byte runs, each stored whole (word by word, 16 scattered stores per
            // pair: a 64×3,136×256 TN product ran at 171 GFLOP/s on one Zen 5 thread, now 194).
            for kb in 0..<kblocks {
                for tile in 0..<2 {
                    let count = Swift.max(0, Swift.min(16, rows - 16 * tile))
                    @inline(__always) func pair(_ index: Int) -> SIMD16<UInt32> {
                        let q = kb * 32 + 2 * index
                        let even = Swift.min(q, k - 1) * lda + row0 + 16 * tile
                        return a.pairWords(
                            even: even, evenCount: q < k ? count : 0,
                            odd: even + (q + 1 < k ? lda : 0), oddCount: q + 1 < k ? count : 0)
                    }
                    let runs = SIMDTranspose.transpose((
                        pair(0), pair(1), pair(2), pair(3), pair(4), pair(5), pair(6), pair(7), pair(8), pair(9),
                        pair(10), pair(11), pair(12), pair(13), pair(14), pair(15)))
                    SIMDTranspose.store(runs, to: UnsafeMutableRawPointer(packed + kb * blockValues + tile * 512),
                                        strideBytes: 64)
                }
            }
        }
    }

    /// op(B)[0 ..< k, column0 ..< column0+columns] as consecutive 32-column panels, each
    /// [kblock][column tile: 2][k pair: 16][column: 16][2]; a panel is `kblocks` blocks long.
    static func packB(
        transposed: Bool, _ b: Operand, ldb: Int, k: Int, kblocks: Int,
        column0: Int, columns: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        switch b {
        case .float32(let values):
            packB(transposed: transposed, Float32PackSource(values: values), ldb: ldb, k: k, kblocks: kblocks,
                  column0: column0, columns: columns, into: packed)
        case .bits(let bits):
            packB(transposed: transposed, BitsPackSource(bits: bits), ldb: ldb, k: k, kblocks: kblocks,
                  column0: column0, columns: columns, into: packed)
        }
    }

    @inline(__always)
    static func packB<Source: BFloat16PackSource>(
        transposed: Bool, _ b: Source, ldb: Int, k: Int, kblocks: Int,
        column0: Int, columns: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        let panels = (columns + panel - 1) / panel
        let panelValues = kblocks * blockValues
        if !transposed {
            // op(B)[q][j] = b[q·ldb + j]: rows q and q+1 over 16 columns interleave into one
            // 64-byte row of a packed tile. Rows outermost, so every panel's share of a stored
            // row is read while its cache lines are in (a panel at a time read 128 bytes of
            // each of k rows, then came back for the next 128).
            for kb in 0..<kblocks {
                for pair in 0..<16 {
                    let q = kb * 32 + 2 * pair
                    let even = q * ldb + column0
                    for tile in 0..<2 * panels {
                        let count = Swift.max(0, Swift.min(16, columns - 16 * tile))
                        let words = b.pairWords(
                            even: even + 16 * tile, evenCount: q < k ? count : 0,
                            odd: even + ldb + 16 * tile, oddCount: q + 1 < k ? count : 0)
                        let target = packed + (tile / 2) * panelValues + kb * blockValues + (tile % 2) * 512
                        UnsafeMutableRawPointer(target + pair * 32).storeBytes(of: words, as: SIMD16<UInt32>.self)
                    }
                }
            }
        } else {
            // op(B)[q][j] = b[j·ldb + q]: column j is a contiguous stored row, whose 32 values of
            // a kblock are its 16 pair words. Sixteen columns (a column tile) at a time: their
            // words, transposed in registers, are the tile's 16 packed 64-byte rows, each stored
            // whole (column by column, 16 scattered stores per kblock: a weight gradient's
            // 64×256×3,136 NT product ran at 135 GFLOP/s on one Zen 5 thread, now 218).
            for tile in 0..<2 * panels {
                let target = packed + (tile / 2) * panelValues + (tile % 2) * 512
                for kb in 0..<kblocks {
                    let q = kb * 32
                    let run = Swift.min(32, k - q)
                    @inline(__always) func words(_ index: Int) -> SIMD16<UInt32> {
                        let j = 16 * tile + index
                        guard j < columns else { return SIMD16<UInt32>(repeating: 0) }
                        return b.consecutivePairWords((column0 + j) * ldb + q, count: run)
                    }
                    let rows = SIMDTranspose.transpose((
                        words(0), words(1), words(2), words(3), words(4), words(5), words(6), words(7), words(8),
                        words(9), words(10), words(11), words(12), words(13), words(14), words(15)))
                    SIMDTranspose.store(rows, to: UnsafeMutableRawPointer(target + kb * blockValues), strideBytes: 64)
                }
            }
        }
    }
}
