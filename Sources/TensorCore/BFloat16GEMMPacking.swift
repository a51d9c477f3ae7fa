// Packing for the bf16 GEMM's hardware paths: Float32 operands rounded to bf16 into the
// layouts the C micro-kernels read (CBFloat16Kernels.h), zero-padded to whole panels and
// whole 32-deep k blocks so the kernels never run partial tiles.
//
// Every packed value is written once, 16 lanes at a time: a scalar loop with the layout's
// index arithmetic per value took 28 % of a 2048³ product on AVX512-BF16 (Zen 5), as long as
// a third of the multiplies. Lanes past the operand's edge (rows, columns or k) are zeros.

extension BFloat16GEMM {
    /// op(A)[row0 ..< row0+rows, 0 ..< k] as [kblock][row tile: 2][row: 16][k: 32].
    static func packA(
        transposed: Bool, _ a: UnsafePointer<Float>, lda: Int, row0: Int, rows: Int, k: Int,
        kblocks: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        if !transposed {
            // op(A)[i][q] = a[i·lda + q]: each row is contiguous in k, so 16 k values are one load
            // and their bf16 halves one 32-byte store. Row by row, so each stored row streams in
            // order (32 rows a kblock at a time kept 32 streams open; the loads waited on memory).
            for i in 0..<panel {
                let present = i < rows
                let source = a + (row0 + i) * lda
                let row = UnsafeMutableRawPointer(packed + (i / 16) * 512 + (i % 16) * 32)
                for kb in 0..<kblocks {
                    let q = kb * 32
                    let run = Swift.min(32, k - q)
                    for half in 0..<2 {
                        let count = present ? Swift.max(0, Swift.min(16, run - 16 * half)) : 0
                        let values = BFloat16Lanes.load(source + q + 16 * half, count: count)
                        let offset = 2 * kb * blockValues + 32 * half
                        let bits = BFloat16Lanes.roundedHighHalves(values)
                        row.storeBytes(of: bits, toByteOffset: offset, as: SIMD16<UInt16>.self)
                    }
                }
            }
        } else {
            // op(A)[i][q] = a[q·lda + i]: 16 rows of one stored row at a time; k pair (q, q+1) of
            // row i is one 32-bit word of the packed row, 64 bytes from row i+1's.
            for kb in 0..<kblocks {
                for pair in 0..<16 {
                    let q = kb * 32 + 2 * pair
                    for tile in 0..<2 {
                        let count = Swift.max(0, Swift.min(16, rows - 16 * tile))
                        let even = a + q * lda + row0 + 16 * tile
                        let words = BFloat16Lanes.pairWords(
                            even: BFloat16Lanes.load(even, count: q < k ? count : 0),
                            odd: BFloat16Lanes.load(even + lda, count: q + 1 < k ? count : 0))
                        let target = UnsafeMutableRawPointer(packed + kb * blockValues + tile * 512 + 2 * pair)
                        BFloat16Lanes.scatter(words, to: target, strideBytes: 64)
                    }
                }
            }
        }
    }

    /// op(B)[0 ..< k, column0 ..< column0+columns] as consecutive 32-column panels, each
    /// [kblock][column tile: 2][k pair: 16][column: 16][2]; a panel is `kblocks` blocks long.
    static func packB(
        transposed: Bool, _ b: UnsafePointer<Float>, ldb: Int, k: Int, kblocks: Int,
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
                    let even = b + q * ldb + column0
                    for tile in 0..<2 * panels {
                        let count = Swift.max(0, Swift.min(16, columns - 16 * tile))
                        let words = BFloat16Lanes.pairWords(
                            even: BFloat16Lanes.load(even + 16 * tile, count: q < k ? count : 0),
                            odd: BFloat16Lanes.load(even + ldb + 16 * tile, count: q + 1 < k ? count : 0))
                        let target = packed + (tile / 2) * panelValues + kb * blockValues + (tile % 2) * 512
                        UnsafeMutableRawPointer(target + pair * 32).storeBytes(of: words, as: SIMD16<UInt32>.self)
                    }
                }
            }
        } else {
            // op(B)[q][j] = b[j·ldb + q]: column j is a contiguous stored row, whose 32 bf16 of one
            // kblock are the 16 pair words of that column, 64 bytes apart in the packed tile.
            for j in 0..<panels * panel {
                let present = j < columns
                let source = b + (column0 + j) * ldb
                let column = packed + (j / panel) * panelValues + ((j % panel) / 16) * 512 + (j % 16) * 2
                for kb in 0..<kblocks {
                    let q = kb * 32
                    let run = Swift.min(32, k - q)
                    let low = BFloat16Lanes.load(source + q, count: present ? Swift.min(16, run) : 0)
                    let high = BFloat16Lanes.load(source + q + 16, count: present ? Swift.max(0, run - 16) : 0)
                    let words = BFloat16Lanes.consecutivePairWords(low, high)
                    let target = UnsafeMutableRawPointer(column + kb * blockValues)
                    BFloat16Lanes.scatter(words, to: target, strideBytes: 64)
                }
            }
        }
    }
}
