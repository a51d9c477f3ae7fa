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
        // Empty products: no rows, no columns, no depth (C = beta · C).
        let shapes = [
            (5, 7, 3), (13, 37, 29), (200, 45, 600), (20, 2_100, 70), (1, 1, 1), (0, 5, 7), (4, 0, 7), (3, 4, 0),
        ]
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
                            repeating: .nan, count: Swift.max(1, GEMM.PackedA.count(m: m, k: k, shape: shape)))
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

    /// A lowered convolution packs its weights once per call: bitwise what packing them in every
    /// product gives, in the forward pass and the input gradient. Geometries: 2 chunks of 4
    /// images (7x6 outputs) on one depth slice; and single-image chunks (13x12 outputs) over two
    /// depth slices (270 deep), with 3 threads on 2 images, so the products themselves split.
    func testConvolutionWithPackedWeightsMatchesPackingPerProduct() throws {
        let geometries = [
            try ConvolutionGeometry(
                batch: 5, inChannels: 7, inHeight: 13, inWidth: 12, outChannels: 11,
                kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2, padHeight: 1, padWidth: 1),
            try ConvolutionGeometry(
                batch: 2, inChannels: 30, inHeight: 13, inWidth: 12, outChannels: 20,
                kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
        ]
        for (index, g) in geometries.enumerated() {
            let reference = ReferenceConvolution(g, seed: 41 + UInt64(index))
            for threads in 1...3 {
                try withThreadCount(threads) {
                    func run(packingOnce: Bool) -> (output: [Float], gradInput: [Float]) {
                        let saved = Convolution.packsWeightsOnce
                        Convolution.packsWeightsOnce = packingOnce
                        defer { Convolution.packsWeightsOnce = saved }
                        var y = [Float](repeating: .nan, count: g.outputCount)
                        Convolution.forward(
                            g, input: reference.input, weight: reference.weight, bias: reference.bias, output: &y,
                            algorithm: .gemm)
                        var dx = [Float](repeating: .nan, count: g.inputCount)
                        Convolution.backwardInput(
                            g, gradOutput: reference.gradOutput, weight: reference.weight, gradInput: &dx,
                            algorithm: .gemm)
                        return (y, dx)
                    }
                    let label = "\(g) threads \(threads)"
                    let packedOnce = run(packingOnce: true), perProduct = run(packingOnce: false)
                    assertClose(packedOnce.output, reference.output, "forward \(label)")
                    assertClose(packedOnce.gradInput, reference.gradInput, "input gradient \(label)")
                    XCTAssertEqual(packedOnce.output, perProduct.output, "forward bits \(label)")
                    XCTAssertEqual(packedOnce.gradInput, perProduct.gradInput, "input gradient bits \(label)")
                    // The packed path really ran: the weights were packed for this geometry.
                    Convolution.withPackedWeights(g, Convolution.Lowering(g), reference.weight, transposed: false) {
                        XCTAssertNotNil($0, label)
                    }
                }
            }
        }
    }
}
