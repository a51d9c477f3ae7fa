import XCTest

@testable import TensorCore

final class GEMMTests: XCTestCase {
    /// Runs GEMM and the naive reference on the same random operands and compares C.
    private func check(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0,
                       lda extraA: Int = 0, ldb extraB: Int = 0, ldc extraC: Int = 0, threads: Int, seed: UInt64,
                       file: StaticString = #filePath, line: UInt = #line) {
        let lda = (transposeA ? m : k) + extraA, ldb = (transposeB ? k : n) + extraB, ldc = n + extraC
        let a = randomValues((transposeA ? k : m) * lda, seed: seed)
        let b = randomValues((transposeB ? n : k) * ldb, seed: seed &+ 1)
        // With beta = 0, C must not be read: start from NaN garbage.
        let initial = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : randomValues(m * ldc, seed: seed &+ 2)
        var reference = initial
        reference.withUnsafeMutableBufferPointer { c in
            GEMM.naiveMultiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                               a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
        }
        // Both register kernels (8×32 and 6×16), whichever this build runs by default.
        for shape in GEMMKernelShape.allCases {
            var fast = initial
            withKernelShape(shape) {
                fast.withUnsafeMutableBufferPointer { c in
                    GEMM.multiply(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc,
                                  threads: threads)
                }
            }
            compare(fast, reference, initial: initial, m: m, n: n, ldc: ldc,
                    "\(shape) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") m=\(m) n=\(n) k=\(k) "
                        + "alpha=\(alpha) beta=\(beta) threads=\(threads)", file: file, line: line)
        }
    }

    /// Only the m×n window of C is compared; padding columns (ldc > n) must be untouched.
    private func compare(_ fast: [Float], _ reference: [Float], initial: [Float], m: Int, n: Int, ldc: Int,
                         _ label: String, file: StaticString, line: UInt) {
        var window: [Float] = [], expected: [Float] = []
        for i in 0..<m {
            for j in 0..<ldc {
                if j < n {
                    window.append(fast[i * ldc + j]); expected.append(reference[i * ldc + j])
                } else if !(fast[i * ldc + j].isNaN && initial[i * ldc + j].isNaN) && fast[i * ldc + j] != initial[i * ldc + j] {
                    XCTFail("\(label): GEMM wrote outside C at row \(i) column \(j)", file: file, line: line)
                    return
                }
            }
        }
        assertClose(window, expected, label, file: file, line: line)
    }

    func testOddShapesAllTranspositionsAllThreadCounts() {
        let shapes = [(1, 1, 1), (7, 13, 37), (13, 7, 100), (37, 129, 13), (100, 37, 7), (129, 100, 1),
                      (6, 16, 256), (12, 32, 300), (5, 200, 3), (130, 17, 65)]
        var seed: UInt64 = 1
        withTinyGEMMThreshold {
            for threads in 1...4 {
                for (m, n, k) in shapes {
                    for transposeA in [false, true] {
                        for transposeB in [false, true] {
                            seed += 3
                            check(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  threads: threads, seed: seed)
                        }
                    }
                }
            }
        }
    }

    func testAlphaBetaAndLeadingDimensions() {
        var seed: UInt64 = 1000
        withTinyGEMMThreshold {
            for threads in [1, 2, 3] {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        for (alpha, beta) in [(Float(0.5), Float(0)), (-1.5, 1), (2, -0.75), (1, 0.5)] {
                            seed += 3
                            check(transposeA: transposeA, transposeB: transposeB, m: 23, n: 41, k: 19,
                                  alpha: alpha, beta: beta, lda: 5, ldb: 3, ldc: 7, threads: threads, seed: seed)
                        }
                    }
                }
            }
        }
    }

    /// Sizes around the 8×32 register tile and the 16-wide vectors (1, 7, 15, 17, 33, 97, 130 …),
    /// every transposition, with the thread count taken from `Parallel.threadCount` as
    /// convolution and linear layers call it.
    func testSizesAroundTheTileWithParallelThreadCount() {
        let sizes = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 97, 130]
        var seed: UInt64 = 5000
        withTinyGEMMThreshold {
            for threads in 1...4 {
                withThreadCount(threads) {
                    for (index, m) in sizes.enumerated() {
                        // Rotating n and k keeps the sweep short but puts every size in every role.
                        let n = sizes[(index * 5 + threads) % sizes.count], k = sizes[(index * 7 + 3) % sizes.count]
                        for transposeA in [false, true] {
                            for transposeB in [false, true] {
                                seed += 3
                                check(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                      threads: Parallel.threadCount, seed: seed)
                                seed += 3
                                check(transposeA: transposeA, transposeB: transposeB, m: n, n: k, k: m,
                                      alpha: 0.75, beta: 1, threads: Parallel.threadCount, seed: seed)
                            }
                        }
                    }
                }
            }
        }
    }

    /// A product big enough to run several full 8×32 tiles per thread, with edges on both sides.
    func testLargeOddProductOnEveryThreadCount() {
        for threads in 1...4 {
            check(transposeA: false, transposeB: false, m: 97, n: 130, k: 257, beta: -0.5, threads: threads,
                  seed: UInt64(threads))
            check(transposeA: true, transposeB: true, m: 130, n: 97, k: 33, alpha: 2, threads: threads,
                  seed: UInt64(10 + threads))
        }
    }

    /// Shapes that cross the KC, MC and NC block boundaries (several depth slices,
    /// several row blocks, more than one column block).
    func testMultipleCacheBlocks() {
        withTinyGEMMThreshold {
            check(transposeA: false, transposeB: false, m: 250, n: 40, k: 530, beta: 0.5, threads: 2, seed: 77)
            check(transposeA: true, transposeB: true, m: 9, n: 2100, k: 20, threads: 3, seed: 78)
            // A weight gradient's shape: op(B) transposed, packed panel by panel over three
            // 177-deep slices (not a multiple of the 8-step transpose), 100 columns (a partial panel).
            for threads in [1, 2] {
                check(transposeA: false, transposeB: true, m: 70, n: 100, k: 531, beta: 1, threads: threads, seed: 79)
            }
        }
    }

    func testDefaultThresholdStillSplitsLargeProducts() {
        check(transposeA: false, transposeB: true, m: 64, n: 96, k: 200, threads: 2, seed: 99)
    }

    func testZeroDepthScalesC() {
        var c: [Float] = [1, 2, 3, 4]
        let a: [Float] = [.nan], b: [Float] = [.nan]
        GEMM.multiply(transposeA: false, transposeB: false, m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2,
                      beta: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [2, 4, 6, 8])
        var d = [Float](repeating: .nan, count: 4)
        GEMM.multiply(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, alpha: 0, a: a, lda: 3, b: b, ldb: 2,
                      beta: 0, c: &d, ldc: 2)
        XCTAssertEqual(d, [0, 0, 0, 0])
    }

    func testKnownProduct() {
        // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [7, 8, 9, 10, 11, 12]
        var c = [Float](repeating: .nan, count: 4)
        GEMM.multiply(transposeA: false, transposeB: false, m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [58, 64, 139, 154])
    }
}
