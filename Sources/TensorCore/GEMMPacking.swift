// Packing for GEMM: copies a block of op(A) or op(B) into the order the register kernel
// reads it, so the kernel streams both operands with unit stride whatever the
// transposition and leading dimension. Partial panels are padded with zeros, which lets
// the kernel always run full 8×32 tiles (edge tiles are clipped only when stored).

extension GEMM {
    /// Packs op(A)[row0 ..< row0+rows, col0 ..< col0+depth], scaled by alpha, as
    /// consecutive 8-row micro-panels: panel r holds, for each k, its 8 row values.
    static func packA(transposed: Bool, _ a: UnsafePointer<Float>, lda: Int, row0: Int, col0: Int,
                      rows: Int, depth kc: Int, alpha: Float, panelHeight mr: Int,
                      into packed: UnsafeMutablePointer<Float>) {
        var ir = 0
        while ir < rows {
            let panelRows = Swift.min(mr, rows - ir)
            let d = packed + ir * kc
            if !transposed {
                // op(A)[i][p] = a[i*lda + p]: read 8 rows side by side.
                let base = a + (row0 + ir) * lda + col0
                if panelRows == 8 {
                    let r0 = base, r1 = base + lda, r2 = base + 2 * lda, r3 = base + 3 * lda
                    let r4 = base + 4 * lda, r5 = base + 5 * lda, r6 = base + 6 * lda, r7 = base + 7 * lda
                    // Eight k steps at a time: one 8-wide load per row, transposed in registers into
                    // eight panel rows (value by value, this packing of a weight gradient's column
                    // matrix cost as much as its multiply on ResNet-50's 1x1 layers).
                    let scale = SIMD8<Float>(repeating: alpha)
                    var p = 0
                    while p + 8 <= kc {
                        @inline(__always) func at(_ row: UnsafePointer<Float>) -> SIMD8<Float> {
                            scale * UnsafeRawPointer(row + p).loadUnaligned(as: SIMD8<Float>.self)
                        }
                        SIMDTranspose.store(
                            SIMDTranspose.transpose((at(r0), at(r1), at(r2), at(r3), at(r4), at(r5), at(r6), at(r7))),
                            to: d + p * mr, stride: mr)
                        p += 8
                    }
                    while p < kc {
                        let o = d + p * mr
                        o[0] = alpha * r0[p]; o[1] = alpha * r1[p]; o[2] = alpha * r2[p]; o[3] = alpha * r3[p]
                        o[4] = alpha * r4[p]; o[5] = alpha * r5[p]; o[6] = alpha * r6[p]; o[7] = alpha * r7[p]
                        p += 1
                    }
                } else if panelRows == 6 && mr == 6 {
                    let r0 = base, r1 = base + lda, r2 = base + 2 * lda, r3 = base + 3 * lda
                    let r4 = base + 4 * lda, r5 = base + 5 * lda
                    for p in 0..<kc {
                        let o = d + p * mr
                        o[0] = alpha * r0[p]; o[1] = alpha * r1[p]; o[2] = alpha * r2[p]
                        o[3] = alpha * r3[p]; o[4] = alpha * r4[p]; o[5] = alpha * r5[p]
                    }
                } else {
                    for p in 0..<kc {
                        let o = d + p * mr
                        for i in 0..<panelRows { o[i] = alpha * base[i * lda + p] }
                        for i in panelRows..<mr { o[i] = 0 }
                    }
                }
            } else {
                // op(A)[i][p] = a[p*lda + i]: the 8 values of one k step are contiguous.
                let base = a + col0 * lda + row0 + ir
                if panelRows == 8 {
                    let scale = SIMD8<Float>(repeating: alpha)
                    for p in 0..<kc {
                        let s = UnsafeRawPointer(base + p * lda).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(d + p * mr).storeBytes(of: scale * s, as: SIMD8<Float>.self)
                    }
                    ir += mr
                    continue
                }
                for p in 0..<kc {
                    let s = base + p * lda
                    let o = d + p * mr
                    for i in 0..<panelRows { o[i] = alpha * s[i] }
                    for i in panelRows..<mr { o[i] = 0 }
                }
            }
            ir += mr
        }
    }

    /// Packs op(B)[row0 ..< row0+depth, col0 ..< col0+columns] as consecutive 32-column
    /// micro-panels: panel j holds, for each k, its 32 column values.
    static func packB(transposed: Bool, _ b: UnsafePointer<Float>, ldb: Int, row0: Int, col0: Int,
                      depth kc: Int, columns: Int, panelWidth nr: Int, into packed: UnsafeMutablePointer<Float>) {
        var jr = 0
        while jr < columns {
            let panelColumns = Swift.min(nr, columns - jr)
            let d = packed + jr * kc
            if !transposed {
                // op(B)[p][j] = b[p*ldb + j]: each k step is a contiguous run of 32.
                let base = b + row0 * ldb + col0 + jr
                if panelColumns == 32 {
                    for p in 0..<kc {
                        let s = UnsafeRawPointer(base + p * ldb)
                        let o = UnsafeMutableRawPointer(d + p * nr)
                        o.storeBytes(of: s.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                        o.storeBytes(of: s.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                     toByteOffset: 64, as: SIMD16<Float>.self)
                    }
                } else if panelColumns == 16 && nr == 16 {
                    for p in 0..<kc {
                        let s = UnsafeRawPointer(base + p * ldb)
                        UnsafeMutableRawPointer(d + p * nr).storeBytes(
                            of: s.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    }
                } else {
                    for p in 0..<kc {
                        let s = base + p * ldb
                        let o = d + p * nr
                        for j in 0..<panelColumns { o[j] = s[j] }
                        for j in panelColumns..<nr { o[j] = 0 }
                    }
                }
            } else {
                // op(B)[p][j] = b[j*ldb + p]: the panel's source rows are read side by side, each
                // sequentially, and the panel written in order, as packA reads its rows. (One
                // row at a time, scattering by the panel width, ran ResNet-50's 1x1 weight
                // gradients at 34–37 GFLOP/s on one Zen 3 core against 50–75 for their forward.)
                let base = b + (col0 + jr) * ldb + row0
                if panelColumns == nr {
                    packTransposedPanel(base, ldb: ldb, depth: kc, width: nr, into: d)
                    jr += nr
                    continue
                }
                for j in 0..<panelColumns {
                    let s = base + j * ldb
                    var o = d + j
                    for p in 0..<kc { o.pointee = s[p]; o += nr }
                }
                if panelColumns < nr {
                    for p in 0..<kc {
                        let o = d + p * nr
                        for j in panelColumns..<nr { o[j] = 0 }
                    }
                }
            }
            jr += nr
        }
    }

    /// d[p·width + j] = base[j·ldb + p] for a full panel: 8 depth steps at a time, one 8-wide
    /// load from each source row, eight rows transposed in registers into 8 columns of 8
    /// consecutive panel rows (width is a multiple of 8). Eight source rows at a time over the
    /// whole depth: reading all 32 rows at each depth step kept 32 streams open, and the loads
    /// waited on memory (a 64×256×3,136 weight-gradient product, one Zen 5 thread: 132 →
    /// 165 GFLOP/s; the panel written stays in L1 either way).
    @inline(__always)
    static func packTransposedPanel(_ base: UnsafePointer<Float>, ldb: Int, depth kc: Int, width: Int,
                                    into d: UnsafeMutablePointer<Float>) {
        let fullDepth = kc / 8 * 8
        var j = 0
        while j < width {
            var p = 0
            while p < fullDepth {
                @inline(__always) func at(_ row: Int) -> SIMD8<Float> {
                    UnsafeRawPointer(base + (j + row) * ldb + p).loadUnaligned(as: SIMD8<Float>.self)
                }
                SIMDTranspose.store(
                    SIMDTranspose.transpose((at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7))),
                    to: d + p * width + j, stride: width)
                p += 8
            }
            j += 8
        }
        var p = fullDepth
        while p < kc {
            for j in 0..<width { d[p * width + j] = base[j * ldb + p] }
            p += 1
        }
    }
}
