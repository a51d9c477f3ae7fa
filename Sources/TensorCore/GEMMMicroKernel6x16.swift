// The GEMM register kernel for CPUs without AVX-512: a 6×16 tile of C in twelve 8-lane
// vectors.
//
// AVX2 has 16 ymm registers. The 8×32 tile of `GEMMMicroKernel.swift` needs 32 of them for
// its accumulators alone, so there every k step spilled and reloaded the tile: 29–31
// GFLOP/s on one Zen 3 core against NumPy's 72–84. Here 12 accumulators + 2 B vectors + 1
// broadcast take 15 of the 16, the shape BLIS and OpenBLAS use on Haswell and Zen. Each k
// step issues 12 FMAs for 2 vector loads and 6 broadcasts, enough to keep both FMA pipes
// busy within the two load ports.

import CBuildTarget

/// Which register tile the GEMM runs: decided by the vector width the kernels were compiled
/// for, since that (not the CPU the process runs on) decides how many registers SIMD16 code
/// has.
enum GEMMKernelShape: CaseIterable {
    /// 8×32 in sixteen 16-lane accumulators (AVX-512: 32 zmm registers).
    case rows8Columns32
    /// 6×16 in twelve 8-lane accumulators (AVX2: 16 ymm registers; also the portable build).
    case rows6Columns16

    static let compiled: GEMMKernelShape = cnn_dist_compiled_avx512f() != 0 ? .rows8Columns32 : .rows6Columns16

    var rows: Int { self == .rows8Columns32 ? 8 : 6 }
    var columns: Int { self == .rows8Columns32 ? 32 : 16 }
}

extension GEMM {
    /// The 6×16 counterpart of `multiplyTile`: C[rows×columns] = A·B + beta·C for one tile,
    /// `a` a packed 6×kc micro-panel, `b` a packed kc×16 one. Edge tiles go through a stack
    /// tile; beta == 0 never reads C.
    @inline(__always)
    static func multiplyTile6x16(
        depth kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, beta: Float
    ) {
        var tile = RegisterTile6x16()
        var ap = a
        var bp = UnsafeRawPointer(b)
        for _ in 0..<kc {
            tile.multiplyAdd(ap, bp.load(as: SIMD8<Float>.self), bp.load(fromByteOffset: 32, as: SIMD8<Float>.self))
            ap += 6
            bp += 64
        }
        if rows == 6 && columns == 16 {
            storeRow(c, tile.c00, tile.c01, beta)
            storeRow(c + ldc, tile.c10, tile.c11, beta)
            storeRow(c + 2 * ldc, tile.c20, tile.c21, beta)
            storeRow(c + 3 * ldc, tile.c30, tile.c31, beta)
            storeRow(c + 4 * ldc, tile.c40, tile.c41, beta)
            storeRow(c + 5 * ldc, tile.c50, tile.c51, beta)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 96) { buffer in
            guard let t = buffer.baseAddress else { return }
            for i in 0..<6 {
                let (left, right) = tile.row(i)
                UnsafeMutableRawPointer(t + 16 * i).storeBytes(of: left, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(t + 16 * i + 8).storeBytes(of: right, as: SIMD8<Float>.self)
            }
            for i in 0..<rows {
                let row = c + i * ldc
                let source = t + i * 16
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

    @inline(__always)
    static func storeRow(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>, _ beta: Float) {
        let raw = UnsafeMutableRawPointer(row)
        if beta == 0 {
            raw.storeBytes(of: v0, as: SIMD8<Float>.self)
            raw.storeBytes(of: v1, toByteOffset: 32, as: SIMD8<Float>.self)
        } else if beta == 1 {
            raw.storeBytes(of: v0 + raw.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            raw.storeBytes(
                of: v1 + raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), toByteOffset: 32,
                as: SIMD8<Float>.self)
        } else {
            let b = SIMD8<Float>(repeating: beta)
            var o0 = v0
            var o1 = v1
            o0.multiplyAdd(b, raw.loadUnaligned(as: SIMD8<Float>.self))
            o1.multiplyAdd(b, raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            raw.storeBytes(of: o0, as: SIMD8<Float>.self)
            raw.storeBytes(of: o1, toByteOffset: 32, as: SIMD8<Float>.self)
        }
    }
}

/// A 6×16 block of results in twelve 8-lane accumulators (row i: ci0 | ci1).
struct RegisterTile6x16 {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()

    /// Row i += a[i] · (b0 | b1): one k step, 12 FMAs.
    @inline(__always)
    mutating func multiplyAdd(_ a: UnsafePointer<Float>, _ b0: SIMD8<Float>, _ b1: SIMD8<Float>) {
        var x = SIMD8<Float>(repeating: a[0])
        c00.multiplyAdd(x, b0); c01.multiplyAdd(x, b1)
        x = SIMD8<Float>(repeating: a[1])
        c10.multiplyAdd(x, b0); c11.multiplyAdd(x, b1)
        x = SIMD8<Float>(repeating: a[2])
        c20.multiplyAdd(x, b0); c21.multiplyAdd(x, b1)
        x = SIMD8<Float>(repeating: a[3])
        c30.multiplyAdd(x, b0); c31.multiplyAdd(x, b1)
        x = SIMD8<Float>(repeating: a[4])
        c40.multiplyAdd(x, b0); c41.multiplyAdd(x, b1)
        x = SIMD8<Float>(repeating: a[5])
        c50.multiplyAdd(x, b0); c51.multiplyAdd(x, b1)
    }

    /// Row i (0 ..< 6) as its two halves.
    func row(_ i: Int) -> (SIMD8<Float>, SIMD8<Float>) {
        switch i {
        case 0: return (c00, c01)
        case 1: return (c10, c11)
        case 2: return (c20, c21)
        case 3: return (c30, c31)
        case 4: return (c40, c41)
        default: return (c50, c51)
        }
    }
}

extension SIMD8 where Scalar == Float {
    /// self += x · y, fused where the target has FMA (see SIMD16's `multiplyAdd`).
    @inline(__always)
    mutating func multiplyAdd(_ x: SIMD8<Float>, _ y: SIMD8<Float>) {
        #if CNN_DIST_PORTABLE_CPU && arch(x86_64)
        self += x * y
        #else
        addProduct(x, y)
        #endif
    }
}
