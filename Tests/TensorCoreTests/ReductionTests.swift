import XCTest
@testable import TensorCore

final class ReductionTests: XCTestCase {
    /// The lane-wise Double sum equals a sequential Double sum to Double rounding, for counts
    /// below, at and around the 16-element stride.
    func testSumMatchesASequentialDoubleSum() {
        for count in [0, 1, 7, 15, 16, 17, 31, 33, 784, 1_000] {
            let values = randomValues(count, seed: UInt64(count) + 11)
            let expected = values.reduce(0.0) { $0 + Double($1) }
            let actual = values.withUnsafeBufferPointer { Reduction.sum($0.baseAddress ?? UnsafePointer(bitPattern: 64)!, count: count) }
            XCTAssertEqual(actual, expected, accuracy: 1e-12 * Double(max(count, 1)), "count \(count)")
        }
    }

    /// Values whose Float sum would lose the small ones: the Double lanes keep them.
    func testSumKeepsSmallTermsNextToLargeOnes() {
        var values = [Float](repeating: 1e-3, count: 4_000)
        values[0] = 1e8
        let sum = values.withUnsafeBufferPointer { Reduction.sum($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(sum, 1e8 + 3_999 * Double(Float(1e-3)), accuracy: 1e-6)
    }
}
