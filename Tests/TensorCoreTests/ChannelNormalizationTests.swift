import XCTest

@testable import TensorCore

/// A batch norm's output normalised where a convolution reads it (`ConvolutionInput.normalized`)
/// against the same convolution of that output written out: bit for bit, every kernel, forward
/// and weight gradient, with and without the ReLU, threads 1–3.
final class ChannelNormalizationTests: XCTestCase {
    /// Every kind of kernel and lowering (`kernelGeometries`), and a 3x3 on planes 40 wide, whose
    /// rows hold whole runs of eight Winograd tiles (the input transform's vector path).
    private let geometries = kernelGeometries + [
        try! ConvolutionGeometry(
            batch: 2, inChannels: 6, inHeight: 12, inWidth: 40, outChannels: 8,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
    ]

    /// x, per-channel scale and shift (some scales negative, so the ReLU zeroes part of every
    /// channel), and the normalised values written out as the batch norm's output pass writes them.
    private struct Normalized {
        let x: [Float], scale: [Float], shift: [Float]
        let channels: Int, plane: Int, appliesReLU: Bool

        init(_ g: ConvolutionGeometry, appliesReLU: Bool, seed: UInt64) {
            x = randomValues(g.inputCount, seed: seed).map { 3 * $0 + 0.5 }
            scale = randomValues(g.inChannels, seed: seed + 1).map { 1.5 * $0 }
            shift = randomValues(g.inChannels, seed: seed + 2)
            channels = g.inChannels
            plane = g.inHeight * g.inWidth
            self.appliesReLU = appliesReLU
        }

        /// y = x·scale + shift per channel, then max(y, 0) with the ReLU: the definition.
        var written: [Float] {
            x.indices.map { i in
                let c = i / plane % channels
                let v = x[i] * scale[c] + shift[c]
                return appliesReLU ? (v > 0 ? v : 0) : v
            }
        }

        func withInput(_ body: (ConvolutionInput) -> Void) {
            x.withUnsafeBufferPointer { x in
                scale.withUnsafeBufferPointer { scale in
                    shift.withUnsafeBufferPointer { shift in
                        body(.normalized(ChannelNormalization(
                            values: x.baseAddress!, scale: scale.baseAddress!, shift: shift.baseAddress!,
                            channels: channels, plane: plane, appliesReLU: appliesReLU)))
                    }
                }
            }
        }
    }

    /// Runs `body` over the geometries, the ReLU on and off, the algorithms that apply to `pass`
    /// and threads 1–3, with small bands; checks every kernel ran.
    private func forEachCase(
        _ pass: ConvolutionPass, _ body: (Int, ConvolutionGeometry, Bool, ConvolutionAlgorithm, Int) -> Void
    ) {
        var ran = Set<String>()
        withSmallBands {
            for (index, g) in geometries.enumerated() {
                for appliesReLU in [true, false] {
                    for algorithm in ConvolutionAlgorithm.allCases where Convolution.applies(algorithm, g, pass) {
                        for threads in 1...3 {
                            withThreadCount(threads) { body(index, g, appliesReLU, algorithm, threads) }
                        }
                        ran.insert("\(algorithm)")
                    }
                }
            }
        }
        XCTAssertEqual(ran, ["gemm", "direct", "winograd", "winograd4x4"], "every kernel ran \(pass)")
    }

    func testForwardOfNormalisedInputEqualsForwardOfTheWrittenOutput() {
        forEachCase(.forward) { index, g, appliesReLU, algorithm, threads in
            let input = Normalized(g, appliesReLU: appliesReLU, seed: 10 + UInt64(index))
            let weight = randomValues(g.weightCount, seed: 20 + UInt64(index))
            let bias = randomValues(g.outChannels, seed: 30 + UInt64(index))
            let written = input.written
            var expected = [Float](repeating: .nan, count: g.outputCount)
            Convolution.forward(g, input: written, weight: weight, bias: bias, output: &expected, algorithm: algorithm)
            var output = [Float](repeating: .nan, count: g.outputCount)
            input.withInput { source in
                output.withUnsafeMutableBufferPointer {
                    Convolution.forward(g, input: source, weight: weight, bias: bias, output: $0.baseAddress!,
                                        algorithm: algorithm)
                }
            }
            XCTAssertEqual(output.map(\.bitPattern), expected.map(\.bitPattern),
                           "\(algorithm) ReLU \(appliesReLU) threads \(threads) \(g)")
            // The bf16 forward pass's entry point takes it too (its output rounded to bf16).
            var rounded = [Float](repeating: .nan, count: g.outputCount)
            Convolution.forward(g, input: written, weight: weight, bias: bias, output: &rounded,
                                algorithm: algorithm, roundsOutput: true)
            input.withInput { source in
                output.withUnsafeMutableBufferPointer {
                    Convolution.forward(g, input: source, weight: weight, bias: bias,
                                        output: .roundedToBFloat16($0.baseAddress!), algorithm: algorithm)
                }
            }
            XCTAssertEqual(output.map(\.bitPattern), rounded.map(\.bitPattern),
                           "rounded, \(algorithm) ReLU \(appliesReLU) threads \(threads) \(g)")
            if appliesReLU {
                XCTAssertTrue(written.contains(0) && written.contains { $0 > 0 }, "the ReLU zeroes some values")
            }
        }
    }

    func testWeightGradientOfNormalisedInputEqualsThatOfTheWrittenOutput() {
        forEachCase(.weightGradient) { index, g, appliesReLU, algorithm, threads in
            let input = Normalized(g, appliesReLU: appliesReLU, seed: 40 + UInt64(index))
            let gradOutput = randomValues(g.outputCount, seed: 50 + UInt64(index))
            func gradients(_ source: ConvolutionInput) -> [[UInt32]] {
                var gradWeight = [Float](repeating: .nan, count: g.weightCount)
                var gradBias = [Float](repeating: .nan, count: g.outChannels)
                Convolution.backwardWeight(g, input: source, gradOutput: gradOutput, gradWeight: &gradWeight,
                                           gradBias: &gradBias, algorithm: algorithm)
                return [gradWeight.map(\.bitPattern), gradBias.map(\.bitPattern)]
            }
            let expected = input.written.withUnsafeBufferPointer { gradients(.float32($0.baseAddress!)) }
            input.withInput { source in
                XCTAssertEqual(gradients(source), expected, "\(algorithm) ReLU \(appliesReLU) threads \(threads) \(g)")
            }
        }
    }

    /// The map on a vector is the map on each lane, and the batch norm's definition: NaN, ±0,
    /// ±∞, values either side of the ReLU's threshold.
    func testChannelAffineOnVectorsIsTheScalarDefinition() {
        let values: [Float] = [.nan, 0, -0.0, .infinity, -.infinity, 1.5, -2.25, 1e-30, -1e-30, 3, 7, -7, 0.1, -0.1,
                               Float.leastNonzeroMagnitude, -Float.greatestFiniteMagnitude]
        for (scale, shift) in [(Float(1.25), Float(-0.5)), (-0.75, 0.25), (0, 0), (2, 0)] {
            for appliesReLU in [true, false] {
                let map = ChannelAffine(scale: scale, shift: shift, appliesReLU: appliesReLU)
                let expected = values.map { x -> UInt32 in
                    let y = x * scale + shift
                    return (appliesReLU ? (y > 0 ? y : 0) : y).bitPattern
                }
                XCTAssertEqual(values.map { map.apply($0).bitPattern }, expected)
                let context = "scale \(scale) ReLU \(appliesReLU)"
                let sixteen = map.apply(SIMD16<Float>(values))
                XCTAssertEqual((0..<16).map { sixteen[$0].bitPattern }, expected, context)
                let eights = [map.apply(SIMD8<Float>(values[0..<8])), map.apply(SIMD8<Float>(values[8..<16]))]
                XCTAssertEqual(eights.flatMap { v in (0..<8).map { v[$0].bitPattern } }, expected, context)
                let fours = stride(from: 0, to: 16, by: 4).map { map.apply(SIMD4<Float>(values[$0..<$0 + 4])) }
                XCTAssertEqual(fours.flatMap { v in (0..<4).map { v[$0].bitPattern } }, expected, context)
            }
        }
    }
}
