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
        XCTAssertEqual(copy.capacity, 75, "a copy of bits takes bits' storage")
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

    /// A ReLU's gradient masked by an output of bf16 bits (a residual block's sum) is the one
    /// masked by the same values in Float32, threads 1 and 3, across zero, tiny and NaN outputs.
    func testReLUBackwardReadsBFloat16Bits() {
        // Over Elementwise.chunk (2¹⁴) values a range, so three threads split them.
        var output: [Float] = (0..<50_003).map { (i: Int) -> Float in
            let tiny: Float = i % 11 == 0 ? 1e-30 : 0
            return BFloat16.round(Float(i % 7) - 3 + tiny)
        }
        output += [.nan, -0.0, .infinity]
        let bits = output.map { BFloat16($0).bitPattern }
        let gradOutput = randomValues(output.count, seed: 81)
        for threads in [1, 3] {
            withThreadCount(threads) {
                var expected = [Float](repeating: .nan, count: output.count)
                var actual = [Float](repeating: .nan, count: output.count)
                Elementwise.reluBackward(output: output, gradOutput: gradOutput, gradInput: &expected,
                                         count: output.count)
                bits.withUnsafeBytes {
                    Elementwise.reluBackward(outputBits: $0.baseAddress!, gradOutput: gradOutput, gradInput: &actual,
                                             count: output.count)
                }
                XCTAssertEqual(actual.map(\.bitPattern), expected.map(\.bitPattern), "threads \(threads)")
            }
        }
    }

    /// With `--workers` several ranks train in one process: one holding a staging buffer does not
    /// make another wait for it, and the two get different memory.
    func testStagingBuffersServeConcurrentHolders() {
        final class Held: @unchecked Sendable { var first, second: UnsafeMutablePointer<Float>? }
        let staging = StagingBuffer(), held = Held()
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let secondDone = DispatchSemaphore(value: 0), firstDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            staging.withBuffer(1_000) { buffer in
                held.first = buffer
                holding.signal()
                release.wait()
            }
            firstDone.signal()
        }
        holding.wait()
        Thread.detachNewThread {
            staging.withBuffer(500) { held.second = $0 }
            secondDone.signal()
        }
        XCTAssertEqual(secondDone.wait(timeout: .now() + 30), .success, "the second holder waited for the first")
        release.signal()
        XCTAssertEqual(firstDone.wait(timeout: .now() + 30), .success)
        XCTAssertNotNil(held.first)
        XCTAssertNotEqual(held.first, held.second, "two holders shared one buffer")
        // Free again: the next caller reuses one of them rather than allocating.
        staging.withBuffer(800) { XCTAssertTrue($0 == held.first || $0 == held.second) }
    }

    private let geometries = kernelGeometries

    /// The products to check: Float32, the emulated bf16 one, each bf16 one this CPU runs, and
    /// the AVX512-BF16 one on the Swift reference kernel (`kernelOverride`), so the hardware
    /// paths' lowering of bits runs on every CPU.
    private var products: [(product: MatrixProduct, onReferenceKernel: Bool)] {
        var products: [(MatrixProduct, Bool)] = [(.float32, false), (.bfloat16(.emulated), false)]
        for isa in [BFloat16ISA.avx512bf16, .amx] where isa.missingFlag(on: .current) == nil && isa.isPermitted {
            products.append((.bfloat16(isa), false))
        }
        products.append((.bfloat16(.avx512bf16), true))
        return products
    }

    /// Runs `body(g, product, algorithm, threads)` over the geometries, products, the algorithms
    /// that apply to `pass`, and threads 1–3, with small bands (the stem is lowered band by band);
    /// checks every kernel ran.
    private func forEachCase(
        _ pass: ConvolutionPass, _ body: (Int, ConvolutionGeometry, MatrixProduct, ConvolutionAlgorithm, Int) -> Void
    ) {
        var ran = Set<String>()
        withSmallBands {
            for (index, g) in geometries.enumerated() {
                for (product, onReferenceKernel) in products {
                    BFloat16GEMM.kernelOverride = onReferenceKernel ? .reference : nil
                    defer { BFloat16GEMM.kernelOverride = nil }
                    let algorithms: [ConvolutionAlgorithm] = product == .bfloat16(.emulated)
                        ? [.gemm] : [.gemm, .direct, .winograd, .winograd4x4]
                    for algorithm in algorithms where Convolution.applies(algorithm, g, pass) {
                        for threads in 1...3 {
                            withThreadCount(threads) { body(index, g, product, algorithm, threads) }
                        }
                        ran.insert("\(algorithm)")
                    }
                }
            }
        }
        XCTAssertEqual(ran, ["gemm", "direct", "winograd", "winograd4x4"], "every kernel ran \(pass)")
    }

    /// im2col of bf16 bits writes the bits of im2col of their values: strides 1–3, kernels 1,
    /// 3 and 5 with and without padding, dilation 2, rows of 1–40 outputs, whole images and bands.
    func testIm2colOfBitsEqualsIm2colOfValues() {
        var checked = 0
        for width in [1, 2, 5, 8, 9, 15, 16, 17, 18, 31, 33, 40, 79] {
            for stride in 1...3 {
                for (kernel, pad, dilation) in [(1, 0, 1), (3, 1, 1), (3, 0, 1), (5, 2, 1), (3, 2, 2)] {
                    guard let g = try? ConvolutionGeometry(
                        batch: 1, inChannels: 3, inHeight: 7, inWidth: width, outChannels: 1,
                        kernelHeight: kernel, kernelWidth: kernel, strideHeight: stride, strideWidth: stride,
                        padHeight: pad, padWidth: pad, dilationHeight: dilation, dilationWidth: dilation)
                    else { continue }
                    let image = RoundedValues(g.inputCount, seed: UInt64(width * 100 + stride * 10 + kernel))
                    let rows = g.inChannels * kernel * kernel
                    var bands: [Range<Int>?] = [nil]
                    if !Convolution.preservesWidth(g) && g.outHeight > 2 { bands.append(1..<g.outHeight - 1) }
                    for band in bands {
                        let pixels = (band?.count ?? g.outHeight) * g.outWidth
                        var values = [Float](repeating: .nan, count: rows * pixels)
                        var bits = [UInt16](repeating: 0xFFFF, count: rows * pixels)
                        Convolution.im2col(g, image: image.values, columns: &values, rowStride: pixels,
                                           outputRows: band)
                        Convolution.im2col(g, image: image.bits, columns: &bits, rowStride: pixels, outputRows: band)
                        XCTAssertEqual(bits, values.map { BFloat16($0).bitPattern },
                                       "\(g) band \(String(describing: band))")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 150)
    }

    /// bf16 values, as Float32 and as bf16 bits.
    private struct RoundedValues {
        let values: [Float], bits: [UInt16]

        init(_ count: Int, seed: UInt64) {
            values = randomValues(count, seed: seed).map(BFloat16.round)
            bits = values.map { BFloat16($0).bitPattern }
        }

        /// Runs `body` with the values as a convolution input of each kind: Float32, then bits.
        func withSources(_ body: ([ConvolutionInput]) -> Void) {
            values.withUnsafeBufferPointer { floats in
                bits.withUnsafeBytes { body([.float32(floats.baseAddress!), .bfloat16Bits($0.baseAddress!)]) }
            }
        }
    }

    /// The forward pass of a bf16 layer, from Float32 values or bf16 bits, into Float32 values
    /// rounded or bf16 bits, all four the Float32 output rounded, bit for bit, with and without a
    /// bias, with the weights packed once per call or by each product.
    func testConvolutionReadsAndWritesBFloat16Bits() {
        forEachCase(.forward) { index, g, product, algorithm, threads in
            let input = RoundedValues(g.inputCount, seed: 90 + UInt64(index))
            let weight = randomValues(g.weightCount, seed: 95 + UInt64(index)).map(BFloat16.round)
            let bias = randomValues(g.outChannels, seed: 99 + UInt64(index)).map(BFloat16.round)
            let savedPacking = Convolution.packsWeightsOnce
            defer { Convolution.packsWeightsOnce = savedPacking }
            // Weights packed once per call, and by each product (the lowered path's other branch).
            for (withBias, packsOnce) in [(false, true), (true, true), (true, false)] {
                Convolution.packsWeightsOnce = packsOnce
                let kernel = BFloat16GEMM.kernelOverride.map { " on the \($0) kernel" } ?? ""
                let context = "\(algorithm) \(product)\(kernel) bias \(withBias) packs once \(packsOnce) "
                    + "threads \(threads) \(g)"
                var expected = [Float](repeating: .nan, count: g.outputCount)
                let biasValues: [Float]? = withBias ? bias : nil
                biasValues.withPointer { biasPointer in
                    Convolution.forward(
                        g, input: input.values, weight: weight, bias: biasPointer, output: &expected,
                        algorithm: algorithm, product: product, roundsOutput: true)
                    input.withSources { sources in
                        for (kind, source) in zip(["Float32 input", "bf16 input"], sources) {
                            var bits = [UInt16](repeating: 0xFFFF, count: g.outputCount)
                            bits.withUnsafeMutableBytes {
                                Convolution.forward(g, input: source, weight: weight, bias: biasPointer,
                                                    output: .bfloat16Bits($0.baseAddress!), algorithm: algorithm,
                                                    product: product)
                            }
                            XCTAssertEqual(bits, expected.map { BFloat16($0).bitPattern },
                                           "bits from \(kind), \(context)")
                            var values = [Float](repeating: .nan, count: g.outputCount)
                            values.withUnsafeMutableBufferPointer {
                                Convolution.forward(g, input: source, weight: weight, bias: biasPointer,
                                                    output: .roundedToBFloat16($0.baseAddress!), algorithm: algorithm,
                                                    product: product)
                            }
                            XCTAssertEqual(values.map(\.bitPattern), expected.map(\.bitPattern),
                                           "values from \(kind), \(context)")
                        }
                    }
                }
            }
        }
    }

    /// The weight and bias gradients from an input of bf16 bits equal those from its values.
    func testWeightGradientReadsBFloat16Bits() {
        forEachCase(.weightGradient) { index, g, product, algorithm, threads in
            let input = RoundedValues(g.inputCount, seed: 70 + UInt64(index))
            let gradOutput = randomValues(g.outputCount, seed: 75 + UInt64(index)).map(BFloat16.round)
            func gradients(_ source: ConvolutionInput) -> [[UInt32]] {
                var gradWeight = [Float](repeating: .nan, count: g.weightCount)
                var gradBias = [Float](repeating: .nan, count: g.outChannels)
                Convolution.backwardWeight(g, input: source, gradOutput: gradOutput, gradWeight: &gradWeight,
                                           gradBias: &gradBias, algorithm: algorithm, product: product)
                return [gradWeight.map(\.bitPattern), gradBias.map(\.bitPattern)]
            }
            let kernel = BFloat16GEMM.kernelOverride.map { " on the \($0) kernel" } ?? ""
            input.withSources { sources in
                XCTAssertEqual(gradients(sources[1]), gradients(sources[0]),
                               "\(algorithm) \(product)\(kernel) threads \(threads) \(g)")
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's base address, or nil.
    fileprivate func withPointer(_ body: (UnsafePointer<Float>?) -> Void) {
        guard let array = self else { return body(nil) }
        array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
