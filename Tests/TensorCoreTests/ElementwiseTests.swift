import XCTest

@testable import TensorCore

/// The ReLU kernels against their scalar definitions, out of place and in place (the layers
/// alias output and input), over lengths around the 16-lane vector width and the parallel
/// chunk, with the special values the vector masks must treat like the scalar comparison.
final class ElementwiseTests: XCTestCase {
    private let lengths = [0, 1, 15, 16, 17, 33, 1000, 3 * Elementwise.chunk + 5]

    /// Random values with NaN, ±0, ±Inf and the smallest subnormal planted at fixed places.
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var x = randomValues(count, seed: seed).map { $0 - 0.5 }
        let specials: [Float] = [.nan, 0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude]
        for (k, s) in specials.enumerated() where k * 7 < count { x[k * 7] = s }
        return x
    }

    /// Equal bit for bit (NaN included).
    private func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ message: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), message, file: file, line: line)
    }

    func testReLUForwardMatchesScalarDefinitionOutOfPlaceAndInPlace() {
        for count in lengths {
            for threads in [1, 2, 3] {
                withThreadCount(threads) {
                    let x = values(count, seed: UInt64(count + 1))
                    let expected = x.map { $0 > 0 ? $0 : 0 }
                    var y = [Float](repeating: 7, count: count)
                    Elementwise.relu(x, &y, count: count)
                    assertBitwiseEqual(y, expected, "relu, count \(count), \(threads) threads")

                    var inPlace = x
                    inPlace.withUnsafeMutableBufferPointer { buffer in
                        guard let p = buffer.baseAddress else { return }
                        Elementwise.relu(p, p, count: count)
                    }
                    assertBitwiseEqual(inPlace, expected, "in-place relu, count \(count), \(threads) threads")
                }
            }
        }
    }

    func testReLUBackwardMatchesScalarDefinitionOutOfPlaceAndInPlace() {
        for count in lengths {
            for threads in [1, 2, 3] {
                withThreadCount(threads) {
                    let output = values(count, seed: UInt64(count + 2)).map { $0 > 0 ? $0 : 0 }
                    let gradOutput = values(count, seed: UInt64(count + 3))
                    let expected = zip(output, gradOutput).map { $0 > 0 ? $1 : 0 }
                    var gradInput = [Float](repeating: 7, count: count)
                    Elementwise.reluBackward(output: output, gradOutput: gradOutput, gradInput: &gradInput,
                                             count: count)
                    assertBitwiseEqual(gradInput, expected, "relu backward, count \(count), \(threads) threads")

                    var inPlace = gradOutput
                    inPlace.withUnsafeMutableBufferPointer { buffer in
                        guard let p = buffer.baseAddress else { return }
                        Elementwise.reluBackward(output: output, gradOutput: p, gradInput: p, count: count)
                    }
                    assertBitwiseEqual(inPlace, expected, "in-place relu backward, count \(count), \(threads) threads")
                }
            }
        }
    }

    func testAddReLUMatchesScalarDefinition() {
        for count in lengths {
            let x = values(count, seed: UInt64(count + 4)), y = values(count, seed: UInt64(count + 5))
            let expected = zip(x, y).map { let v = $0 + $1; return v > 0 ? v : 0 }
            var z = [Float](repeating: 7, count: count)
            Elementwise.addRelu(x, y, into: &z, count: count)
            assertBitwiseEqual(z, expected, "add-relu, count \(count)")

            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { buffer in
                guard let p = buffer.baseAddress else { return }
                Elementwise.addRelu(p, y, into: p, count: count)
            }
            assertBitwiseEqual(inPlace, expected, "in-place add-relu, count \(count)")
        }
    }

    /// z = round(x + y) against the scalar rounding of the Float32 sum, in place too, with
    /// ties (both ways), NaN, ±Inf, overflow to Inf and subnormals among the sums.
    func testAddRoundingToBFloat16MatchesScalarRoundingOfTheSum() {
        for count in lengths {
            var x = values(count, seed: 5), y = values(count, seed: 6)
            if count > 8 {
                // Sums that are exact ties: 1 + 2⁻⁸ (to even: 1), 1 + 3·2⁻⁸ (to even: 1 + 2⁻⁶).
                (x[1], y[1]) = (1, 1.0 / 256)
                (x[2], y[2]) = (1, 3.0 / 256)
                (x[3], y[3]) = (Float.greatestFiniteMagnitude, Float.greatestFiniteMagnitude / 1e3)
                (x[4], y[4]) = (Float.leastNonzeroMagnitude * 3, Float.leastNonzeroMagnitude)
            }
            let expected = zip(x, y).map { BFloat16.round($0 + $1).bitPattern }
            var z = [Float](repeating: -7, count: count)
            Elementwise.addRoundingToBFloat16(x, y, into: &z, count: count)
            XCTAssertEqual(z.map(\.bitPattern), expected, "count \(count)")
            x.withUnsafeMutableBufferPointer { x in
                guard let base = x.baseAddress else { return }
                Elementwise.addRoundingToBFloat16(base, y, into: base, count: count)
            }
            XCTAssertEqual(x.map(\.bitPattern), expected, "count \(count), in place")
            if count > 8 {
                XCTAssertTrue(z[0].isNaN)
                XCTAssertEqual(z[1], 1)
                XCTAssertEqual(z[2], 1 + 1.0 / 64)
                XCTAssertEqual(z[3], .infinity)
            }
        }
    }

    /// The vectorised sum (four 8-lane Double accumulators and a scalar tail) against one scalar
    /// Double chain, for lengths around its 32- and 8-element steps; and a known sum.
    func testReductionSumMatchesScalarDoubleSum() {
        var random = RandomGenerator(seed: 11)
        for count in [0, 1, 7, 8, 9, 31, 32, 33, 40, 1_000, 3_137] {
            let values = (0..<count).map { _ in random.normal() * 1_000 }
            var scalar = 0.0
            for value in values { scalar += Double(value) }
            let magnitude = values.reduce(0.0) { $0 + Double(abs($1)) }
            XCTAssertEqual(Reduction.sum(values, count: count), scalar, accuracy: 1e-12 * Swift.max(1, magnitude),
                           "count \(count)")
        }
        let known: [Float] = (1...100).map(Float.init)
        XCTAssertEqual(Reduction.sum(known, count: 100), 5_050)
        let tiny: [Float] = [1e8] + Array(repeating: 1, count: 64) + [-1e8]
        XCTAssertEqual(Reduction.sum(tiny, count: tiny.count), 64, "Float sums would lose the ones")
    }

    func testWorkedExample() {
        var y = [Float](repeating: 0, count: 4)
        Elementwise.relu([-1, 0, 2.5, -0.25], &y, count: 4)
        XCTAssertEqual(y, [0, 0, 2.5, 0])
    }
}
