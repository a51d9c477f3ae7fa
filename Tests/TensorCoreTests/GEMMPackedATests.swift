import XCTest

@testable import TensorCore

/// `GEMM.multiply(packedA:…)` against `GEMM.multiply` packing A itself: bitwise the same C for
/// both transpositions of A and B, both register tiles, 1–4 threads (rows and columns split),
/// several depth slices, row blocks and column blocks, and with beta; and against the naive
/// product.
final class GEMMPackedATests: XCTestCase {
    func testPackedAMatchesPackingPerCallBitForBit() throws {
        // (m, n, k): one slice and one block; odd sizes past the register tiles; three depth
        // slices (k 600 → 200 each) over two 192-row blocks; n past one 2,048-column block.
        let shapes = [(5, 7, 3), (13, 37, 29), (200, 45, 600), (20, 2_100, 70), (1, 1, 1)]
        for (m, n, k) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    try assertPackedMatches(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }

    private func assertPackedMatches(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) throws {
        // Leading dimensions wider than the matrices, as a convolution's rows can be.
        let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 2, ldc = n + 1
        let a = randomValues((transposeA ? k : m) * lda, seed: UInt64(m * 7 + k))
        let b = randomValues((transposeB ? n : k) * ldb, seed: UInt64(n * 11 + k))
        let start = randomValues(m * ldc, seed: 3)
        var naive = start
        GEMM.naiveMultiply(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
            beta: 0.5, c: &naive, ldc: ldc)
        for shape in GEMMKernelShape.allCases {
            try withKernelShape(shape) {
                try withTinyGEMMThreshold {
                    for threads in 1...4 {
                        let label =
                            "\(m)x\(n)x\(k) transposed \(transposeA)/\(transposeB) \(shape) threads \(threads)"
                        var expected = start
                        GEMM.multiply(
                            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda,
                            b: b, ldb: ldb, beta: 0.5, c: &expected, ldc: ldc, threads: threads)
                        var storage = [Float](
                            repeating: .nan, count: GEMM.PackedA.count(m: m, k: k, shape: shape))
                        var actual = start
                        storage.withUnsafeMutableBufferPointer { packed in
                            let packedA = GEMM.pack(
                                transposeA: transposeA, m: m, k: k, a: a, lda: lda,
                                into: packed.baseAddress.unsafelyUnwrapped, threads: threads)
                            GEMM.multiply(
                                packedA: packedA, transposeB: transposeB, n: n, b: b, ldb: ldb, beta: 0.5,
                                c: &actual, ldc: ldc, threads: threads)
                        }
                        XCTAssertEqual(actual, expected, label)
                        assertClose(actual, naive, tolerance: 1e-4, label)
                    }
                }
            }
        }
    }

    /// A lowered convolution packs its weights once when it multiplies them by several chunks
    /// of images: the same bits as a convolution of one image at a time.
    func testConvolutionWithPackedWeightsMatchesImageByImage() throws {
        let g = try ConvolutionGeometry(
            batch: 5, inChannels: 7, inHeight: 13, inWidth: 12, outChannels: 11,
            kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2, padHeight: 1, padWidth: 1)
        let single = try ConvolutionGeometry(
            batch: 1, inChannels: 7, inHeight: 13, inWidth: 12, outChannels: 11,
            kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2, padHeight: 1, padWidth: 1)
        let reference = ReferenceConvolution(g, seed: 41)
        for threads in 1...3 {
            try withThreadCount(threads) {
                var y = [Float](repeating: .nan, count: g.outputCount)
                Convolution.forward(
                    g, input: reference.input, weight: reference.weight, bias: reference.bias, output: &y,
                    algorithm: .gemm)
                var dx = [Float](repeating: .nan, count: g.inputCount)
                Convolution.backwardInput(
                    g, gradOutput: reference.gradOutput, weight: reference.weight, gradInput: &dx, algorithm: .gemm)
                assertClose(y, reference.output, "forward threads \(threads)")
                assertClose(dx, reference.gradInput, "input gradient threads \(threads)")
                for image in 0..<g.batch {
                    let input = Array(reference.input[(image * g.inputCount / 5)..<((image + 1) * g.inputCount / 5)])
                    let gradOutput = Array(
                        reference.gradOutput[(image * g.outputCount / 5)..<((image + 1) * g.outputCount / 5)])
                    var y1 = [Float](repeating: .nan, count: single.outputCount)
                    Convolution.forward(
                        single, input: input, weight: reference.weight, bias: reference.bias, output: &y1,
                        algorithm: .gemm)
                    var dx1 = [Float](repeating: .nan, count: single.inputCount)
                    Convolution.backwardInput(
                        single, gradOutput: gradOutput, weight: reference.weight, gradInput: &dx1, algorithm: .gemm)
                    XCTAssertEqual(
                        Array(y[(image * single.outputCount)..<((image + 1) * single.outputCount)]), y1,
                        "forward image \(image) threads \(threads)")
                    XCTAssertEqual(
                        Array(dx[(image * single.inputCount)..<((image + 1) * single.inputCount)]), dx1,
                        "input gradient image \(image) threads \(threads)")
                }
            }
        }
    }
}
