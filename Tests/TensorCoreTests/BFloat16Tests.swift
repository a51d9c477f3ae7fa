import XCTest

@testable import TensorCore

final class BFloat16Tests: XCTestCase {
    /// The nearest bfloat16 by exact arithmetic: compare the distances to the two bf16
    /// neighbours in Double, ties to the even one. Independent of the bit trick under test.
    private func referenceRound(_ x: Float) -> UInt32 {
        let bits = x.bitPattern
        if x.isNaN { return (bits | 0x0040_0000) & 0xFFFF_0000 }
        if x.isInfinite { return bits }
        let below = bits & 0xFFFF_0000
        let above = below + 0x1_0000  // the next bf16 away from zero (may be infinity)
        let low = Double(Float(bitPattern: below)), value = Double(x)
        // The neighbour above the largest finite bf16 is infinity; its distance is measured to
        // where the next binade would start, 2^128, as IEEE rounding does.
        let high =
            above & 0x7FFF_FFFF == 0x7F80_0000
            ? (x.sign == .minus ? -0x1p128 : 0x1p128) : Double(Float(bitPattern: above))
        let distanceLow = abs(value - low), distanceHigh = abs(high - value)
        if distanceLow < distanceHigh { return below }
        if distanceHigh < distanceLow { return above }
        return (below >> 16) & 1 == 0 ? below : above
    }

    func testTiesToEven() {
        let cases: [(UInt32, UInt32)] = [
            (0x3F80_8000, 0x3F80_0000),  // 1 + 2⁻⁸: halfway, even neighbour below
            (0x3F81_8000, 0x3F82_0000),  // halfway above an odd value: up to even
            (0x3F80_8001, 0x3F81_0000),  // just above halfway: up
            (0x3F80_7FFF, 0x3F80_0000),  // just below halfway: down
            (0xBF81_8000, 0xBF82_0000),  // negative ties mirror positive ones
            (0x3FFF_8000, 0x4000_0000),  // the carry bumps the exponent: 1.99609375… → 2
        ]
        for (input, expected) in cases {
            XCTAssertEqual(BFloat16.round(Float(bitPattern: input)).bitPattern, expected, String(input, radix: 16))
            XCTAssertEqual(BFloat16(Float(bitPattern: input)).bitPattern, UInt16(expected >> 16))
        }
    }

    func testNaNStaysQuietNaNWithItsSign() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FBF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            let rounded = BFloat16.round(Float(bitPattern: bits))
            XCTAssertTrue(rounded.isNaN, "0x\(String(bits, radix: 16)) became \(rounded)")
            XCTAssertNotEqual(rounded.bitPattern & 0x0040_0000, 0, "quiet bit of 0x\(String(bits, radix: 16))")
            XCTAssertEqual(rounded.bitPattern >> 31, bits >> 31, "sign of 0x\(String(bits, radix: 16))")
            XCTAssertTrue(BFloat16(Float(bitPattern: bits)).floatValue.isNaN)
        }
    }

    func testInfinitiesOverflowAndSubnormals() {
        XCTAssertEqual(BFloat16.round(.infinity), .infinity)
        XCTAssertEqual(BFloat16.round(-.infinity), -.infinity)
        // The largest finite bf16 is 0x7F7F; a tie above it rounds to even, which is infinity.
        XCTAssertEqual(BFloat16.round(.greatestFiniteMagnitude), .infinity)
        XCTAssertEqual(BFloat16.round(-.greatestFiniteMagnitude), -.infinity)
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x7F7F_8000)), .infinity)
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x7F7F_7FFF)).bitPattern, 0x7F7F_0000)
        // Subnormals keep their value to bf16 precision (no flush to zero).
        XCTAssertEqual(BFloat16.round(.leastNonzeroMagnitude), 0)
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x0000_8000)).bitPattern, 0)  // tie, even below
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x0001_8000)).bitPattern, 0x0002_0000)  // tie, odd below
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x0000_8001)).bitPattern, 0x0001_0000)
        XCTAssertEqual(BFloat16.round(Float(bitPattern: 0x007F_FFFF)).bitPattern, 0x0080_0000)  // up to normal
        XCTAssertEqual(BFloat16.round(-0.0).bitPattern, 0x8000_0000)
        XCTAssertEqual(BFloat16(3.140625).floatValue, 3.140625)  // exactly representable
    }

    func testMatchesExactReferenceOnManyBitPatterns() {
        var random = RandomGenerator(seed: 42)
        var patterns: [UInt32] = [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF, 0x0080_0000]
        for _ in 0..<200_000 { patterns.append(UInt32(truncatingIfNeeded: random.next())) }
        // Every possible dropped half around a few kept values, ties included.
        for kept: UInt32 in [0x3F80, 0x3F81, 0x0001, 0x7F7F, 0xC2F7] {
            for low in stride(from: UInt32(0), through: 0xFFFF, by: 7) { patterns.append(kept << 16 | low) }
            patterns.append(kept << 16 | 0x8000)
        }
        for bits in patterns {
            let x = Float(bitPattern: bits)
            XCTAssertEqual(BFloat16.round(x).bitPattern, referenceRound(x), "0x\(String(bits, radix: 16))")
        }
        // The buffer loop (branch-free, vectorised) equals the scalar rounding.
        let values = patterns.map { Float(bitPattern: $0) }
        var rounded = [Float](repeating: 0, count: values.count - 3)
        BFloat16Rounding.round(values, into: &rounded, count: rounded.count)
        for i in 0..<rounded.count {
            XCTAssertEqual(rounded[i].bitPattern, BFloat16.round(values[i]).bitPattern, "buffer element \(i)")
        }
        // And the eight-lane rounding (NaNs of every payload and sign among the patterns).
        for start in stride(from: 0, to: values.count - 7, by: 8) {
            let lanes = BFloat16.round(SIMD8<Float>(values[start..<start + 8]))
            for lane in 0..<8 {
                XCTAssertEqual(lanes[lane].bitPattern, BFloat16.round(values[start + lane]).bitPattern,
                               "lane \(lane) of vector at \(start)")
            }
        }
    }

    /// The check: bf16 values (±0, ±∞, subnormal bf16, quiet NaN with a zero low half) pass;
    /// a value rounding would change (a low bit, a signalling NaN it would quiet) fails, wherever
    /// it is in a long run split over the threads.
    func testHoldsOnlyBFloat16ValuesMatchesRounding() {
        let bf16Values: [Float] = [
            0, -0, 1, -2.5, .infinity, -.infinity, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x7FC0_0000),
            Float(bitPattern: 0x3F81_0000),
        ]
        let others: [Float] = [1.0000001, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x7F81_0000), 1e-40]
        for value in bf16Values {
            XCTAssertEqual(BFloat16.round(value).bitPattern, value.bitPattern, "\(value) is bf16")
        }
        for value in others { XCTAssertNotEqual(BFloat16.round(value).bitPattern, value.bitPattern, "\(value)") }
        let threads = Parallel.threadCount
        Parallel.threadCount = 3
        defer { Parallel.threadCount = threads }
        let count = 5 * BFloat16Rounding.valuesPerThread + 7
        var run = (0..<count).map { bf16Values[$0 % bf16Values.count] }
        XCTAssertTrue(BFloat16Rounding.holdsOnlyBFloat16Values(run, count: count))
        XCTAssertTrue(BFloat16Rounding.holdsOnlyBFloat16Values(run, count: 0))
        for position in [0, 15, 16, count / 2, count - 8, count - 1] {
            for other in others {
                let kept = run[position]
                run[position] = other
                XCTAssertFalse(BFloat16Rounding.holdsOnlyBFloat16Values(run, count: count), "\(other) at \(position)")
                run[position] = kept
            }
        }
    }
}
