import XCTest

@testable import TensorCore

final class PoolingTests: XCTestCase {
    private func geometry(batch: Int = 1, channels: Int = 1, height: Int, width: Int, kernel: (Int, Int),
                          stride: (Int, Int), padding: (Int, Int) = (0, 0), ceilMode: Bool = false) throws -> PoolingGeometry {
        try PoolingGeometry(batch: batch, channels: channels, inHeight: height, inWidth: width,
                            kernelHeight: kernel.0, kernelWidth: kernel.1, strideHeight: stride.0, strideWidth: stride.1,
                            padHeight: padding.0, padWidth: padding.1, ceilMode: ceilMode)
    }

    private let zeroToEight: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8]

    private func maxPool(_ g: PoolingGeometry, _ input: [Float]) -> (values: [Float], argmax: [Int32]) {
        var output = [Float](repeating: .nan, count: g.outputCount)
        var argmax = [Int32](repeating: -1, count: g.outputCount)
        Pooling.maxForward(g, input: input, output: &output, argmax: &argmax)
        return (output, argmax)
    }

    private func averagePool(_ g: PoolingGeometry, _ input: [Float], countIncludePad: Bool) -> [Float] {
        var output = [Float](repeating: .nan, count: g.outputCount)
        Pooling.averageForward(g, countIncludePad: countIncludePad, input: input, output: &output)
        return output
    }

    // MARK: Worked examples

    func testTwoByTwoStrideOne() throws {
        let g = try geometry(height: 3, width: 3, kernel: (2, 2), stride: (1, 1))
        let max = maxPool(g, zeroToEight)
        XCTAssertEqual(max.values, [4, 5, 7, 8])
        XCTAssertEqual(max.argmax, [4, 5, 7, 8])
        XCTAssertEqual(averagePool(g, zeroToEight, countIncludePad: true), [2, 3, 5, 6])
    }

    func testAveragePaddingDivisors() throws {
        // PyTorch avg_pool2d(arange(9).view(1,1,3,3), 2, stride=2, padding=1)
        let g = try geometry(height: 3, width: 3, kernel: (2, 2), stride: (2, 2), padding: (1, 1))
        XCTAssertEqual(averagePool(g, zeroToEight, countIncludePad: true), [0, 0.75, 2.25, 6])
        XCTAssertEqual(averagePool(g, zeroToEight, countIncludePad: false), [0, 1.5, 4.5, 6])
        // ceil_mode: the last window hangs past the input and is clipped (divisor 2, then 1).
        let ceil = try geometry(height: 3, width: 3, kernel: (2, 2), stride: (2, 2), ceilMode: true)
        XCTAssertEqual(averagePool(ceil, zeroToEight, countIncludePad: true), [2, 3.5, 6.5, 8])
        XCTAssertEqual(maxPool(ceil, zeroToEight).values, [4, 5, 7, 8])
    }

    func testTiesKeepTheFirstElementAndNaNWins() throws {
        let g = try geometry(height: 2, width: 3, kernel: (2, 2), stride: (1, 1))
        let result = maxPool(g, [7, 7, 1, 7, 7, .nan])
        XCTAssertEqual(result.argmax, [0, 5])
        XCTAssertEqual(result.values[0], 7)
        XCTAssertTrue(result.values[1].isNaN)
    }

    /// The eight-lane 2x2/stride-2 path keeps the rule: ties keep the first element, NaN wins.
    func testTiesAndNaNInEightLanePath() throws {
        let g = try geometry(height: 2, width: 16, kernel: (2, 2), stride: (2, 2))
        var input = [Float](repeating: 3, count: 32)
        input[3] = .nan      // window 1, top right
        input[16 + 4] = 5    // window 2, bottom left
        input[16 + 15] = .nan
        input[14] = 9        // window 7: 9 then NaN below right → NaN, index 31
        let result = maxPool(g, input)
        XCTAssertEqual(result.argmax, [0, 3, 20, 6, 8, 10, 12, 31])
        XCTAssertTrue(result.values[1].isNaN && result.values[7].isNaN)
        XCTAssertEqual(result.values[2], 5)
        XCTAssertEqual(result.values[0], 3)
    }

    /// The eight-lane path for any window (AlexNet's and ResNet's 3x3 stride 2, ResNet's with
    /// padding 1), the rows-first stride-1 path (GoogLeNet's 3x3 stride 1, a 2x2 stride 1) and
    /// 2x2 stride-2 rows of fewer than 8 outputs (GoogLeNet's 14x14 → 7x7), and of 14 (the
    /// unrolled path's last 8 windows overlapping the first 8): ties keep the first element, a
    /// NaN wins, the clipped edge windows go one at a time; all as the reference loops.
    func testTiesAndNaNInGeneralEightLanePath() throws {
        for (kernel, stride, padding, width) in [(3, 2, 0, 53), (3, 2, 1, 53), (3, 1, 1, 53), (3, 3, 0, 53),
                                                 (2, 1, 0, 53), (2, 2, 0, 15), (2, 2, 0, 28)] {
            let g = try geometry(batch: 1, channels: 2, height: 7, width: width, kernel: (kernel, kernel),
                                 stride: (stride, stride), padding: (padding, padding))
            // Few distinct values, so most windows hold ties; a NaN every 13 elements.
            let input = (0..<g.inputCount).map { i -> Float in i % 13 == 5 ? .nan : Float(i * 7 % 3) }
            let result = maxPool(g, input)
            let expected = winnersWithNaN(g, input)
            XCTAssertEqual(result.argmax, expected, "\(g)")
            let plane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
            let winners = expected.indices.map { input[$0 / outPlane * plane + Int(expected[$0])] }
            XCTAssertEqual(result.values.map(\.bitPattern), winners.map(\.bitPattern), "\(g)")
            XCTAssertTrue(result.values.contains { $0.isNaN }, "\(g) has NaN windows")
            // Backward that finds the winners again routes each gradient to the same element
            // (the gradient of window i is i + 1, so a wrong winner shows).
            let gradOutput = (0..<g.outputCount).map { Float($0 + 1) }
            var viaStored = [Float](repeating: .nan, count: g.inputCount)
            Pooling.maxBackward(g, gradOutput: gradOutput, argmax: result.argmax, gradInput: &viaStored)
            var viaSearch = [Float](repeating: .nan, count: g.inputCount)
            Pooling.maxBackward(g, input: input, gradOutput: gradOutput, gradInput: &viaSearch)
            XCTAssertEqual(viaSearch, viaStored, "\(g)")
        }
    }

    /// Windows whose real elements are all −inf (and −inf beside NaN) pick their first element
    /// inside the input, as the reference loops do, not a border cell of the bordered copy.
    func testNegativeInfinityWindowsPickTheirFirstElementInside() throws {
        for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (5, 3, 2), (2, 2, 1)] {
            let g = try geometry(batch: 2, channels: 3, height: 7, width: 19, kernel: (kernel, kernel),
                                 stride: (stride, stride), padding: (padding, padding), ceilMode: true)
            // The first plane all −inf; the others a 1 every fifth element and a NaN every 29th.
            let input = (0..<g.inputCount).map { i -> Float in
                i < 7 * 19 ? -.infinity : (i % 29 == 3 ? .nan : (i % 5 == 0 ? 1 : -.infinity))
            }
            let result = maxPool(g, input)
            XCTAssertEqual(result.argmax, winnersWithNaN(g, input), "\(g)")
            XCTAssertTrue(result.values.contains(-.infinity), "\(g) has all −inf windows")
        }
    }

    func testMaxPaddingActsAsNegativeInfinity() throws {
        let input: [Float] = [-5, -4, -3, -2]
        let g = try geometry(height: 2, width: 2, kernel: (2, 2), stride: (1, 1), padding: (1, 1))
        let result = maxPool(g, input)
        XCTAssertEqual(result.values, [-5, -4, -4, -3, -2, -2, -3, -2, -2])
        XCTAssertEqual(result.argmax, [0, 1, 1, 2, 3, 3, 2, 3, 3])
        // Overlapping windows accumulate in the backward pass.
        var gradInput = [Float](repeating: .nan, count: 4)
        Pooling.maxBackward(g, gradOutput: [Float](repeating: 1, count: 9), argmax: result.argmax, gradInput: &gradInput)
        XCTAssertEqual(gradInput, [1, 2, 2, 4])
    }

    func testOutputSizesAndCeilMode() throws {
        XCTAssertEqual(try geometry(height: 6, width: 6, kernel: (3, 3), stride: (2, 2)).outHeight, 2)
        XCTAssertEqual(try geometry(height: 6, width: 6, kernel: (3, 3), stride: (2, 2), ceilMode: true).outHeight, 3)
        let padded = try geometry(height: 5, width: 5, kernel: (2, 2), stride: (2, 2), padding: (1, 1), ceilMode: true)
        XCTAssertEqual(padded.outHeight, 3)
        XCTAssertEqual(padded.outWidth, 3)
        XCTAssertEqual(try geometry(height: 5, width: 5, kernel: (2, 2), stride: (2, 2), padding: (1, 1)).outHeight, 3)
        XCTAssertEqual(try geometry(height: 7, width: 8, kernel: (3, 2), stride: (3, 3), ceilMode: true).outWidth, 3)
        XCTAssertEqual(try geometry(height: 55, width: 55, kernel: (3, 3), stride: (2, 2)).outHeight, 27)
        XCTAssertEqual(try geometry(height: 112, width: 112, kernel: (3, 3), stride: (2, 2), padding: (1, 1)).outHeight, 56)
    }

    func testInvalidGeometryThrows() {
        func message(_ body: () throws -> PoolingGeometry) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let padding = message { try self.geometry(height: 8, width: 8, kernel: (3, 3), stride: (1, 1), padding: (2, 2)) }
        XCTAssertTrue(padding.contains("at most half the kernel"), padding)
        let tooLarge = message { try self.geometry(height: 2, width: 2, kernel: (3, 3), stride: (1, 1)) }
        XCTAssertTrue(tooLarge.contains("does not fit the input 2x2"), tooLarge)
        let stride = message { try self.geometry(height: 8, width: 8, kernel: (3, 3), stride: (0, 1)) }
        XCTAssertTrue(stride.contains("stride must be positive"), stride)
    }

    // MARK: Against direct reference loops

    /// PyTorch's rule, element by element in row-major window order from the first element
    /// inside the input: a larger value or a NaN wins. The winners' indices in their planes.
    private func winnersWithNaN(_ g: PoolingGeometry, _ input: [Float]) -> [Int32] {
        var winners: [Int32] = []
        for plane in 0..<(g.batch * g.channels) {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    var best = -Float.infinity, bestIndex = -1
                    for ki in 0..<g.kernelHeight {
                        for kj in 0..<g.kernelWidth {
                            let h = oh * g.strideHeight - g.padHeight + ki, w = ow * g.strideWidth - g.padWidth + kj
                            guard h >= 0, h < g.inHeight, w >= 0, w < g.inWidth else { continue }
                            let value = input[plane * g.inHeight * g.inWidth + h * g.inWidth + w]
                            if bestIndex < 0 || value > best || value.isNaN {
                                best = value
                                bestIndex = h * g.inWidth + w
                            }
                        }
                    }
                    winners.append(Int32(bestIndex))
                }
            }
        }
        return winners
    }

    /// Max pooling straight from the definition: padding is −inf, first maximum wins.
    private func referenceMax(_ g: PoolingGeometry, _ input: [Float]) -> (values: [Float], argmax: [Int32]) {
        let argmax = winnersWithNaN(g, input), inPlane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
        return (argmax.indices.map { input[$0 / outPlane * inPlane + Int(argmax[$0])] }, argmax)
    }

    /// Average pooling from the definition; the divisor counts window positions inside the
    /// padded input (countIncludePad) or inside the input.
    private func referenceAverage(_ g: PoolingGeometry, _ input: [Float], gradOutput: [Float],
                                  countIncludePad: Bool) -> (output: [Float], gradInput: [Float]) {
        var output: [Float] = [], gradInput = [Double](repeating: 0, count: g.inputCount)
        var outputIndex = 0
        for plane in 0..<(g.batch * g.channels) {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    var sum = 0.0, inside = 0, insidePadded = 0
                    var members: [Int] = []
                    for ki in 0..<g.kernelHeight {
                        for kj in 0..<g.kernelWidth {
                            let h = oh * g.strideHeight - g.padHeight + ki, w = ow * g.strideWidth - g.padWidth + kj
                            if h < g.inHeight + g.padHeight && w < g.inWidth + g.padWidth { insidePadded += 1 }
                            guard h >= 0, h < g.inHeight, w >= 0, w < g.inWidth else { continue }
                            let index = plane * g.inHeight * g.inWidth + h * g.inWidth + w
                            sum += Double(input[index])
                            inside += 1
                            members.append(index)
                        }
                    }
                    let divisor = Double(countIncludePad ? insidePadded : inside)
                    output.append(Float(sum / divisor))
                    for index in members { gradInput[index] += Double(gradOutput[outputIndex]) / divisor }
                    outputIndex += 1
                }
            }
        }
        return (output, gradInput.map { Float($0) })
    }

    private let shapes: [(batch: Int, channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int),
                          padding: (Int, Int), ceilMode: Bool)] = [
        (2, 3, 8, 8, (2, 2), (2, 2), (0, 0), false),
        (1, 2, 9, 11, (3, 3), (2, 2), (0, 0), false),
        (3, 2, 9, 11, (3, 3), (2, 2), (1, 1), false),
        (2, 1, 10, 7, (3, 3), (2, 2), (1, 0), true),
        (1, 3, 6, 6, (3, 3), (2, 2), (0, 0), true),
        (2, 2, 5, 5, (2, 2), (2, 2), (1, 1), true),
        (1, 4, 13, 6, (3, 2), (1, 2), (1, 1), false),
        (5, 3, 7, 7, (4, 4), (3, 3), (2, 1), true),
        (1, 1, 1, 1, (1, 1), (1, 1), (0, 0), false),
        (2, 40, 16, 16, (3, 3), (2, 2), (1, 1), true),
        // LeNet's pools: 2x2 stride 2, eight windows per SIMD step plus a tail (28 → 14, 10 → 5).
        (3, 6, 28, 28, (2, 2), (2, 2), (0, 0), false),
        (2, 16, 10, 10, (2, 2), (2, 2), (0, 0), false),
        (1, 2, 5, 37, (2, 2), (2, 2), (0, 0), true),
    ]

    func testAgainstReference() throws {
        var seed: UInt64 = 900
        for shape in shapes {
            let g = try geometry(batch: shape.batch, channels: shape.channels, height: shape.height, width: shape.width,
                                 kernel: shape.kernel, stride: shape.stride, padding: shape.padding, ceilMode: shape.ceilMode)
            seed += 5
            for threads in [1, 2, 3] { checkAgainstReference(g, seed: seed, threads: threads) }
        }
    }

    /// PyTorch's pooling_output_shape, written out independently of PoolingGeometry.
    private func torchOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
        let numerator = input + 2 * padding - kernel + (ceilMode ? stride - 1 : 0)
        var size = Int((Double(numerator) / Double(stride)).rounded(.down)) + 1
        if ceilMode && (size - 1) * stride >= input + padding { size -= 1 }
        return size
    }

    /// Every geometry torch accepts, input side 1–12, kernel 1–11, stride 1–4, padding 0–5, floor and
    /// ceil mode (our pooling has no dilation), against the reference loops; those torch refuses
    /// are refused with its reason.
    func testEverySmallGeometryAgainstReference() throws {
        var checked = 0, refused = 0, seed: UInt64 = 5000
        for side in 1...12 {
            for kernel in 1...11 {
                for stride in 1...4 {
                    for padding in 0...5 {
                        for ceilMode in [false, true] {
                            let out = torchOutputSize(side, kernel: kernel, stride: stride, padding: padding,
                                                      ceilMode: ceilMode)
                            let make = {
                                try self.geometry(batch: 1, channels: 2, height: side, width: side + 1 - side % 2,
                                                  kernel: (kernel, kernel), stride: (stride, stride),
                                                  padding: (padding, padding), ceilMode: ceilMode)
                            }
                            // torch: "pad should be at most half of effective kernel size", then "Output size is too small".
                            if padding > kernel / 2 || out < 1 {
                                XCTAssertThrowsError(try make()) { error in
                                    let text = "\(error)"
                                    XCTAssertTrue(padding > kernel / 2 ? text.contains("at most half the kernel")
                                                  : text.contains("does not fit the input"), text)
                                }
                                refused += 1
                                continue
                            }
                            let g = try make()
                            XCTAssertEqual(g.outHeight, out, "\(g)")
                            seed += 3
                            checkAgainstReference(g, seed: seed, threads: checked % 3 + 1)
                            checked += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(checked + refused, 12 * 11 * 4 * 6 * 2)
        XCTAssertGreaterThan(checked, 1500)
    }

    /// Max and average pooling, forward and backward, against the reference loops at `threads`.
    private func checkAgainstReference(_ g: PoolingGeometry, seed: UInt64, threads: Int) {
        let input = randomValues(g.inputCount, seed: seed)
        let gradOutput = randomValues(g.outputCount, seed: seed + 1)
        let expectedMax = referenceMax(g, input)
        // Max backward reference: scatter through the reference argmax.
        var expectedMaxGrad = [Float](repeating: 0, count: g.inputCount)
        let outPlane = g.outHeight * g.outWidth, inPlane = g.inHeight * g.inWidth
        for i in 0..<g.outputCount { expectedMaxGrad[i / outPlane * inPlane + Int(expectedMax.argmax[i])] += gradOutput[i] }
        withThreadCount(threads) {
            let label = "\(g) threads \(threads)"
            let max = maxPool(g, input)
            XCTAssertEqual(max.values, expectedMax.values, "max forward \(label)")
            XCTAssertEqual(max.argmax, expectedMax.argmax, "argmax \(label)")
            var gradInput = [Float](repeating: .nan, count: g.inputCount)
            Pooling.maxBackward(g, gradOutput: gradOutput, argmax: max.argmax, gradInput: &gradInput)
            assertClose(gradInput, expectedMaxGrad, "max backward \(label)")
            // Without stored winners: the same maxima, and backward finds the same winners again.
            var values = [Float](repeating: .nan, count: g.outputCount)
            Pooling.maxForward(g, input: input, output: &values)
            XCTAssertEqual(values, max.values, "max forward without winners \(label)")
            var recomputed = [Float](repeating: .nan, count: g.inputCount)
            Pooling.maxBackward(g, input: input, gradOutput: gradOutput, gradInput: &recomputed)
            XCTAssertEqual(recomputed, gradInput, "max backward with winners found again \(label)")
            for countIncludePad in [true, false] {
                let expected = referenceAverage(g, input, gradOutput: gradOutput, countIncludePad: countIncludePad)
                assertClose(averagePool(g, input, countIncludePad: countIncludePad), expected.output,
                            "average forward \(label) includePad \(countIncludePad)")
                var gradAverage = [Float](repeating: .nan, count: g.inputCount)
                Pooling.averageBackward(g, countIncludePad: countIncludePad, gradOutput: gradOutput,
                                        gradInput: &gradAverage)
                assertClose(gradAverage, expected.gradInput, "average backward \(label) includePad \(countIncludePad)")
            }
        }
    }
}
