import XCTest

@testable import TensorCore

/// bf16 outputs kept at their own size (`TensorElement.bfloat16`): the conversion into bits,
/// tensors holding them, and a convolution writing them, against the Float32 output rounded.
final class BFloat16OutputTests: XCTestCase {
    /// Every 16-bit neighbourhood that matters to rounding: ties either way, NaNs with payloads
    /// in either half, infinities, subnormals, the largest finite values.
    private let patterns: [UInt32] = {
        var bits: [UInt32] = [
            0, 0x8000_0000, 0x0000_8000, 0x0001_8000, 0x0000_7FFF, 0x0001_0000, 0x7F7F_FFFF, 0x7F7F_8000,
            0x7F7F_7FFF, 0x7F80_0000, 0xFF80_0000, 0x7F80_0001, 0x7FC0_0000, 0xFFC1_2345, 0x7F80_8000,
            0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0xBF80_7FFF, 0x0080_0000, 0x007F_FFFF,
        ]
        var generator = RandomGenerator(seed: 77)
        for _ in 0..<20_000 { bits.append(UInt32(truncatingIfNeeded: generator.next())) }
        return bits
    }()

    func testConvertIntoBitsIsTheScalarRoundingAtEveryOffset() {
        let values = patterns.map { Float(bitPattern: $0) }
        let expected = values.map { BFloat16($0).bitPattern }
        // Offsets and lengths that leave partial vectors at both ends.
        for (start, count) in [(0, values.count), (3, 13), (5, 8), (1, 0), (7, 1_001)] {
            var bits = [UInt16](repeating: 0xABCD, count: count + 2)
            values.withUnsafeBufferPointer { source in
                bits.withUnsafeMutableBytes { raw in
                    BFloat16Rounding.convert(source.baseAddress! + start, intoBits: raw.baseAddress! + 2, count: count)
                }
            }
            XCTAssertEqual(Array(bits[1..<(count + 1)]), Array(expected[start..<(start + count)]),
                           "start \(start) count \(count)")
            XCTAssertEqual(bits.first, 0xABCD, "wrote before the destination")
            XCTAssertEqual(bits.last, 0xABCD, "wrote past the destination")
        }
        for threads in [1, 3] {
            withThreadCount(threads) {
                var bits = [UInt16](repeating: 0, count: values.count)
                BFloat16Rounding.convertInParallel(values, intoBits: &bits, count: values.count)
                XCTAssertEqual(bits, expected, "in parallel, threads \(threads)")
            }
        }
    }

    func testBFloat16TensorTakesHalfTheStorageAndReadsBackWidened() {
        let tensor = Tensor(shape: [0])
        tensor.reshape([2, 3, 5, 5], element: .bfloat16)
        XCTAssertEqual(tensor.count, 150)
        XCTAssertEqual(tensor.capacity, 75, "bf16 bits take half the Float32 storage")
        let values = (0..<150).map { Float($0) * 0.37 - 20 }
        values.withUnsafeBufferPointer {
            BFloat16Rounding.convert($0.baseAddress!, intoBits: tensor.bfloat16Bits, count: 150)
        }
        XCTAssertEqual(tensor.array, values.map(BFloat16.round))
        XCTAssertEqual(tensor.value(at: 149), BFloat16.round(values[149]))
        let copy = tensor.clone()
        XCTAssertEqual(copy.element, .bfloat16)
        XCTAssertEqual(copy.array, tensor.array)
        XCTAssertTrue(tensor.description.contains("bf16"), tensor.description)

        // Back to Float32 within the same storage once it has grown to the Float32 size.
        tensor.reshape(2, 3, 5, 5)
        XCTAssertEqual(tensor.element, .float32)
        XCTAssertEqual(tensor.capacity, 150)
        tensor.reshape(2, 3, 5, 5, element: .bfloat16)
        XCTAssertEqual(tensor.element, .bfloat16)
        XCTAssertEqual(tensor.capacity, 150, "shrinking keeps the storage")
    }

    /// Geometries for each kind of kernel: a 3x3 same convolution (direct, Winograd, lowered),
    /// a 1x1 on 5x5 images (several images per lowered chunk), a 7x7 stride-2 stem (banded when
    /// `bandBytes` is small), a grouped 3x3, and a 3x3 on 16x16 with 32 channels (Winograd 4x4).
    private let geometries: [ConvolutionGeometry] = [
        try! ConvolutionGeometry(
            batch: 3, inChannels: 5, inHeight: 9, inWidth: 12, outChannels: 7,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
        try! ConvolutionGeometry(
            batch: 5, inChannels: 8, inHeight: 5, inWidth: 5, outChannels: 12, kernelHeight: 1, kernelWidth: 1),
        try! ConvolutionGeometry(
            batch: 2, inChannels: 3, inHeight: 40, inWidth: 38, outChannels: 16,
            kernelHeight: 7, kernelWidth: 7, strideHeight: 2, strideWidth: 2, padHeight: 3, padWidth: 3),
        try! ConvolutionGeometry(
            batch: 2, inChannels: 12, inHeight: 6, inWidth: 10, outChannels: 18,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1, groups: 3),
        try! ConvolutionGeometry(
            batch: 2, inChannels: 32, inHeight: 16, inWidth: 16, outChannels: 32,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
    ]

    /// The bits equal the Float32 output rounded to bf16, bit for bit, for every algorithm that
    /// applies, with and without a bias, threads 1–3, on the Float32 product and each bf16 one
    /// this CPU runs.
    func testConvolutionWritesTheBitsOfItsRoundedOutput() {
        var products: [MatrixProduct] = [.float32, .bfloat16(.emulated)]
        for isa in [BFloat16ISA.avx512bf16, .amx] where isa.missingFlag(on: .current) == nil && isa.isPermitted {
            products.append(.bfloat16(isa))
        }
        let savedBandBytes = Convolution.bandBytes, savedMinimum = Convolution.bandMinimumPixels
        Convolution.bandBytes = 4 * 1024
        Convolution.bandMinimumPixels = 16
        defer {
            Convolution.bandBytes = savedBandBytes
            Convolution.bandMinimumPixels = savedMinimum
        }
        var ran = Set<String>()
        for (index, g) in geometries.enumerated() {
            let input = randomValues(g.inputCount, seed: 90 + UInt64(index)).map(BFloat16.round)
            let weight = randomValues(g.weightCount, seed: 95 + UInt64(index)).map(BFloat16.round)
            let bias = randomValues(g.outChannels, seed: 99 + UInt64(index)).map(BFloat16.round)
            for product in products {
                let algorithms: [ConvolutionAlgorithm] = product == .bfloat16(.emulated)
                    ? [.gemm] : [.gemm, .direct, .winograd, .winograd4x4]
                for algorithm in algorithms where Convolution.applies(algorithm, g, .forward) {
                    for withBias in [false, true] {
                        for threads in 1...3 {
                            withThreadCount(threads) {
                                var expected = [Float](repeating: .nan, count: g.outputCount)
                                var bits = [UInt16](repeating: 0xFFFF, count: g.outputCount)
                                let biasValues: [Float]? = withBias ? bias : nil
                                biasValues.withPointer { biasPointer in
                                    Convolution.forward(
                                        g, input: input, weight: weight, bias: biasPointer, output: &expected,
                                        algorithm: algorithm, product: product, roundsOutput: true)
                                    Convolution.forward(
                                        g, input: input, weight: weight, bias: biasPointer, bfloat16Output: &bits,
                                        algorithm: algorithm, product: product)
                                }
                                XCTAssertEqual(
                                    bits, expected.map { BFloat16($0).bitPattern },
                                    "\(algorithm) \(product) bias \(withBias) threads \(threads) \(g)")
                            }
                        }
                    }
                    ran.insert("\(algorithm)")
                }
            }
        }
        XCTAssertEqual(ran, ["gemm", "direct", "winograd", "winograd4x4"], "every kernel wrote bits")
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's base address, or nil.
    fileprivate func withPointer(_ body: (UnsafePointer<Float>?) -> Void) {
        guard let array = self else { return body(nil) }
        array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
