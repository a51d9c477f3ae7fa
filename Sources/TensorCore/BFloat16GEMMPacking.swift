// Packing for the bf16 GEMM's hardware paths: Float32 operands rounded to bf16 into the
// layouts the C micro-kernels read (CBFloat16Kernels.h), zero-padded to whole panels and
// whole 32-deep k blocks so the kernels never run partial tiles.

extension BFloat16GEMM {
    /// op(A)[row0 ..< row0+rows, 0 ..< k] as [kblock][row tile: 2][row: 16][k: 32].
    static func packA(
        transposed: Bool, _ a: UnsafePointer<Float>, lda: Int, row0: Int, rows: Int, k: Int,
        kblocks: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        packed.update(repeating: 0, count: kblocks * blockValues)
        @inline(__always) func offset(_ i: Int, _ q: Int) -> Int {
            (q / 32) * blockValues + (i / 16) * 512 + (i % 16) * 32 + q % 32
        }
        if !transposed {
            // op(A)[i][q] = a[i·lda + q]: each row is contiguous in k, 32 values per kblock.
            for i in 0..<rows {
                let source = a + (row0 + i) * lda
                var q = 0
                while q < k {
                    let run = Swift.min(32, k - q)
                    BFloat16Rounding.convert(source + q, into: packed + offset(i, q), count: run)
                    q += run
                }
            }
        } else {
            // op(A)[i][q] = a[q·lda + i]: walk each stored row once.
            for q in 0..<k {
                let source = a + q * lda + row0
                for i in 0..<rows { packed[offset(i, q)] = BFloat16(source[i]).bitPattern }
            }
        }
    }

    /// op(B)[0 ..< k, column0 ..< column0+columns] as [kblock][column tile: 2][k pair: 16][column: 16][2].
    static func packB(
        transposed: Bool, _ b: UnsafePointer<Float>, ldb: Int, k: Int, kblocks: Int,
        column0: Int, columns: Int, into packed: UnsafeMutablePointer<UInt16>
    ) {
        packed.update(repeating: 0, count: kblocks * blockValues)
        @inline(__always) func offset(_ q: Int, _ j: Int) -> Int {
            (q / 32) * blockValues + (j / 16) * 512 + ((q % 32) / 2) * 32 + (j % 16) * 2 + q % 2
        }
        if !transposed {
            // op(B)[q][j] = b[q·ldb + j]: walk each stored row once.
            for q in 0..<k {
                let source = b + q * ldb + column0
                for j in 0..<columns { packed[offset(q, j)] = BFloat16(source[j]).bitPattern }
            }
        } else {
            // op(B)[q][j] = b[j·ldb + q]: each column of op(B) is a contiguous stored row.
            for j in 0..<columns {
                let source = b + (column0 + j) * ldb
                for q in 0..<k { packed[offset(q, j)] = BFloat16(source[q]).bitPattern }
            }
        }
    }
}
