// The GEMM register kernel: an 8×32 tile of C held in sixteen 16-wide vectors.
//
// With AVX-512 there are 32 zmm registers: 16 accumulators + 2 for the B row + 1 for the
// broadcast A element, so nothing spills. Each k step issues 16 FMAs for 2 vector loads
// and 8 broadcasts, which keeps both FMA ports busy while the loads fit the two load
// ports. `addProduct` on SIMD16<Float> compiles to `vfmadd231ps zmm` under
// -target-cpu native (checked with objdump: the loop is loads, broadcasts and FMAs
// only, no bounds checks, no retain/release). Built portable (no AVX-512), each SIMD16
// splits into narrower vectors and FMAs into separate multiplies and adds: slower, results
// equal up to rounding.

extension GEMM {
    /// The register tile this build runs (8×32 with AVX-512, else 6×16). Tests switch it to
    /// run both kernels, and the kernels sized by it, on any machine. Each call reads it once
    /// (its packing, scratch and sweep must agree), so a change only affects later calls.
    nonisolated(unsafe) static var kernelShape = GEMMKernelShape.compiled

    /// C[rows×columns] = A·B + beta·C for one tile, where `a` is a packed 8×kc micro-panel
    /// (8 values per k step) and `b` a packed kc×32 micro-panel (32 values per k step).
    /// Full tiles are stored straight to C; edge tiles go through a stack tile so the
    /// kernel never touches C outside rows×columns. beta == 0 never reads C.
    @inline(__always)
    static func multiplyTile(depth kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, beta: Float) {
        var tile = RegisterTile()
        var ap = a
        var bp = UnsafeRawPointer(b)
        var p = 0
        // A right-edge tile at most 16 wide only needs the first half of each B row: half
        // the FMAs (the right-half accumulators stay zero and are never stored).
        if columns <= 16 {
            while p < kc {
                tile.multiplyAdd(ap, bp.load(as: SIMD16<Float>.self))
                ap += 8
                bp += 128
                p += 1
            }
        }
        while p < kc {
            tile.multiplyAdd(ap, bp.load(as: SIMD16<Float>.self), bp.load(fromByteOffset: 64, as: SIMD16<Float>.self))
            ap += 8
            bp += 128
            p += 1
        }
        if rows == 8 && columns == 32 {
            storeRow(c, tile.c00, tile.c01, beta)
            storeRow(c + ldc, tile.c10, tile.c11, beta)
            storeRow(c + 2 * ldc, tile.c20, tile.c21, beta)
            storeRow(c + 3 * ldc, tile.c30, tile.c31, beta)
            storeRow(c + 4 * ldc, tile.c40, tile.c41, beta)
            storeRow(c + 5 * ldc, tile.c50, tile.c51, beta)
            storeRow(c + 6 * ldc, tile.c60, tile.c61, beta)
            storeRow(c + 7 * ldc, tile.c70, tile.c71, beta)
            return
        }
        withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 16) { t in
            t[0] = tile.c00; t[1] = tile.c01; t[2] = tile.c10; t[3] = tile.c11
            t[4] = tile.c20; t[5] = tile.c21; t[6] = tile.c30; t[7] = tile.c31
            t[8] = tile.c40; t[9] = tile.c41; t[10] = tile.c50; t[11] = tile.c51
            t[12] = tile.c60; t[13] = tile.c61; t[14] = tile.c70; t[15] = tile.c71
            UnsafeRawPointer(t.baseAddress!).withMemoryRebound(to: Float.self, capacity: 256) { t in
                for i in 0..<rows {
                    let row = c + i * ldc
                    let source = t + i * 32
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
    static func storeRow(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ beta: Float) {
        let raw = UnsafeMutableRawPointer(row)
        if beta == 0 {
            raw.storeBytes(of: v0, as: SIMD16<Float>.self)
            raw.storeBytes(of: v1, toByteOffset: 64, as: SIMD16<Float>.self)
        } else if beta == 1 {
            raw.storeBytes(of: v0 + raw.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
            raw.storeBytes(of: v1 + raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                           toByteOffset: 64, as: SIMD16<Float>.self)
        } else {
            let b = SIMD16<Float>(repeating: beta)
            var o0 = v0, o1 = v1
            o0.multiplyAdd(b, raw.loadUnaligned(as: SIMD16<Float>.self))
            o1.multiplyAdd(b, raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
            raw.storeBytes(of: o0, as: SIMD16<Float>.self)
            raw.storeBytes(of: o1, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}

/// An 8×32 block of results in sixteen 16-lane accumulators (row i: ci0 | ci1), the
/// register tile of the GEMM kernel and of the direct convolution. With AVX-512 the tile,
/// two B vectors and one broadcast take 19 of the 32 zmm registers.
struct RegisterTile {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var c60 = SIMD16<Float>(), c61 = SIMD16<Float>()
    var c70 = SIMD16<Float>(), c71 = SIMD16<Float>()

    /// Row i += a[i] · (b0 | b1): one k step, 16 FMAs.
    @inline(__always)
    mutating func multiplyAdd(_ a: UnsafePointer<Float>, _ b0: SIMD16<Float>, _ b1: SIMD16<Float>) {
        var x = SIMD16<Float>(repeating: a[0])
        c00.multiplyAdd(x, b0); c01.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[1])
        c10.multiplyAdd(x, b0); c11.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[2])
        c20.multiplyAdd(x, b0); c21.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[3])
        c30.multiplyAdd(x, b0); c31.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[4])
        c40.multiplyAdd(x, b0); c41.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[5])
        c50.multiplyAdd(x, b0); c51.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[6])
        c60.multiplyAdd(x, b0); c61.multiplyAdd(x, b1)
        x = SIMD16<Float>(repeating: a[7])
        c70.multiplyAdd(x, b0); c71.multiplyAdd(x, b1)
    }

    /// Row i (0 ..< 8) as its two halves.
    func row(_ i: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        switch i {
        case 0: return (c00, c01)
        case 1: return (c10, c11)
        case 2: return (c20, c21)
        case 3: return (c30, c31)
        case 4: return (c40, c41)
        case 5: return (c50, c51)
        case 6: return (c60, c61)
        default: return (c70, c71)
        }
    }

    /// The left half only: row i's first 16 columns += a[i] · b0 (8 FMAs).
    @inline(__always)
    mutating func multiplyAdd(_ a: UnsafePointer<Float>, _ b0: SIMD16<Float>) {
        c00.multiplyAdd(SIMD16<Float>(repeating: a[0]), b0)
        c10.multiplyAdd(SIMD16<Float>(repeating: a[1]), b0)
        c20.multiplyAdd(SIMD16<Float>(repeating: a[2]), b0)
        c30.multiplyAdd(SIMD16<Float>(repeating: a[3]), b0)
        c40.multiplyAdd(SIMD16<Float>(repeating: a[4]), b0)
        c50.multiplyAdd(SIMD16<Float>(repeating: a[5]), b0)
        c60.multiplyAdd(SIMD16<Float>(repeating: a[6]), b0)
        c70.multiplyAdd(SIMD16<Float>(repeating: a[7]), b0)
    }
}

/// The direct weight gradient's block: 4 filters × 4 (channel, ki, kj) rows of 16-lane
/// accumulators (16 pixels per lane), kept in memory between calls.
struct LaneBlock {
    var a00: SIMD16<Float>, a01: SIMD16<Float>, a02: SIMD16<Float>, a03: SIMD16<Float>
    var a10: SIMD16<Float>, a11: SIMD16<Float>, a12: SIMD16<Float>, a13: SIMD16<Float>
    var a20: SIMD16<Float>, a21: SIMD16<Float>, a22: SIMD16<Float>, a23: SIMD16<Float>
    var a30: SIMD16<Float>, a31: SIMD16<Float>, a32: SIMD16<Float>, a33: SIMD16<Float>

    /// The 16 accumulators stored at `memory`, filter-major (a_fr at (4f + r) · 64 bytes).
    @inline(__always)
    init(loading memory: UnsafeRawPointer) {
        func load(_ i: Int) -> SIMD16<Float> { memory.loadUnaligned(fromByteOffset: i * 64, as: SIMD16<Float>.self) }
        a00 = load(0); a01 = load(1); a02 = load(2); a03 = load(3)
        a10 = load(4); a11 = load(5); a12 = load(6); a13 = load(7)
        a20 = load(8); a21 = load(9); a22 = load(10); a23 = load(11)
        a30 = load(12); a31 = load(13); a32 = load(14); a33 = load(15)
    }

    @inline(__always)
    func store(to memory: UnsafeMutableRawPointer) {
        func store(_ i: Int, _ v: SIMD16<Float>) { memory.storeBytes(of: v, toByteOffset: i * 64, as: SIMD16<Float>.self) }
        store(0, a00); store(1, a01); store(2, a02); store(3, a03)
        store(4, a10); store(5, a11); store(6, a12); store(7, a13)
        store(8, a20); store(9, a21); store(10, a22); store(11, a23)
        store(12, a30); store(13, a31); store(14, a32); store(15, a33)
    }

    /// a_fr += y_f · x_r for 16 pixels: filter f's output gradient, row r's inputs. The four
    /// y are produced on demand (one live at a time: 16 + 4 + 1 registers).
    @inline(__always)
    mutating func multiplyAdd(_ x0: SIMD16<Float>, _ x1: SIMD16<Float>, _ x2: SIMD16<Float>, _ x3: SIMD16<Float>,
                              gradients y: (Int) -> SIMD16<Float>) {
        var g = y(0)
        a00.multiplyAdd(g, x0); a01.multiplyAdd(g, x1); a02.multiplyAdd(g, x2); a03.multiplyAdd(g, x3)
        g = y(1)
        a10.multiplyAdd(g, x0); a11.multiplyAdd(g, x1); a12.multiplyAdd(g, x2); a13.multiplyAdd(g, x3)
        g = y(2)
        a20.multiplyAdd(g, x0); a21.multiplyAdd(g, x1); a22.multiplyAdd(g, x2); a23.multiplyAdd(g, x3)
        g = y(3)
        a30.multiplyAdd(g, x0); a31.multiplyAdd(g, x1); a32.multiplyAdd(g, x2); a33.multiplyAdd(g, x3)
    }
}

extension SIMD16 where Scalar == Float {
    /// self += x · y, fused where the target has FMA. Baseline x86-64 (CNN_DIST_CPU=portable)
    /// has no FMA instruction, and a fused `addProduct` there becomes one `fmaf` libm call
    /// per lane (about 200× slower), so portable builds multiply and add separately.
    @inline(__always)
    mutating func multiplyAdd(_ x: SIMD16<Float>, _ y: SIMD16<Float>) {
        #if CNN_DIST_PORTABLE_CPU && arch(x86_64)
        self += x * y
        #else
        addProduct(x, y)
        #endif
    }
}
