// The GEMM register kernel: a 6×16 tile of C held in twelve 8-wide vectors.
//
// With AVX2 there are 16 ymm registers: 12 accumulators + 2 for the B row + 1 for the
// broadcast A element leaves one spare, and each k step issues 12 FMAs for 3 loads, so the
// kernel is bound by the FMA units, not by memory. `addProduct` on SIMD8<Float> compiles
// to vfmadd231ps under -target-cpu native (checked with objdump).

extension GEMM {
    /// Rows of the register tile (and of one packed A micro-panel).
    static let tileRows = 6
    /// Columns of the register tile (and of one packed B micro-panel).
    static let tileColumns = 16

    /// C[rows×columns] = A·B + beta·C for one tile, where `a` is a packed 6×kc micro-panel
    /// (6 values per k step) and `b` a packed kc×16 micro-panel (16 values per k step).
    /// Full tiles are stored straight to C; edge tiles go through a stack tile so the
    /// kernel never touches C outside rows×columns. beta == 0 never reads C.
    @inline(__always)
    static func multiplyTile(depth kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, beta: Float) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
        var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        var ap = a
        var bp = UnsafeRawPointer(b)
        var p = 0
        while p < kc {
            let b0 = bp.load(as: SIMD8<Float>.self)
            let b1 = bp.load(fromByteOffset: 32, as: SIMD8<Float>.self)
            var x = SIMD8<Float>(repeating: ap[0])
            c00.addProduct(x, b0); c01.addProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[1])
            c10.addProduct(x, b0); c11.addProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[2])
            c20.addProduct(x, b0); c21.addProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[3])
            c30.addProduct(x, b0); c31.addProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[4])
            c40.addProduct(x, b0); c41.addProduct(x, b1)
            x = SIMD8<Float>(repeating: ap[5])
            c50.addProduct(x, b0); c51.addProduct(x, b1)
            ap += 6
            bp += 64
            p += 1
        }
        if rows == tileRows && columns == tileColumns {
            storeRow(c, c00, c01, beta)
            storeRow(c + ldc, c10, c11, beta)
            storeRow(c + 2 * ldc, c20, c21, beta)
            storeRow(c + 3 * ldc, c30, c31, beta)
            storeRow(c + 4 * ldc, c40, c41, beta)
            storeRow(c + 5 * ldc, c50, c51, beta)
            return
        }
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 12) { tile in
            tile[0] = c00; tile[1] = c01; tile[2] = c10; tile[3] = c11
            tile[4] = c20; tile[5] = c21; tile[6] = c30; tile[7] = c31
            tile[8] = c40; tile[9] = c41; tile[10] = c50; tile[11] = c51
            UnsafeRawPointer(tile.baseAddress!).withMemoryRebound(to: Float.self, capacity: 96) { t in
                for i in 0..<rows {
                    let row = c + i * ldc
                    let source = t + i * tileColumns
                    if beta == 0 {
                        for j in 0..<columns { row[j] = source[j] }
                    } else if beta == 1 {
                        for j in 0..<columns { row[j] += source[j] }
                    } else {
                        for j in 0..<columns { row[j] = beta * row[j] + source[j] }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func storeRow(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ beta: Float) {
        let raw = UnsafeMutableRawPointer(row)
        if beta == 0 {
            raw.storeBytes(of: v0, as: SIMD8<Float>.self)
            raw.storeBytes(of: v1, toByteOffset: 32, as: SIMD8<Float>.self)
        } else if beta == 1 {
            raw.storeBytes(of: v0 + raw.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            raw.storeBytes(of: v1 + raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                           toByteOffset: 32, as: SIMD8<Float>.self)
        } else {
            let b = SIMD8<Float>(repeating: beta)
            var o0 = v0, o1 = v1
            o0.addProduct(b, raw.loadUnaligned(as: SIMD8<Float>.self))
            o1.addProduct(b, raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            raw.storeBytes(of: o0, as: SIMD8<Float>.self)
            raw.storeBytes(of: o1, toByteOffset: 32, as: SIMD8<Float>.self)
        }
    }
}
