import XCTest

@testable import TensorCore

/// The vector helpers of the Winograd transforms and the strided lowering against plain loops.
final class SIMDTransposeTests: XCTestCase {
    func testTransposeSwapsRowsAndColumns() {
        // Entry (row, column) holds 8·row + column.
        var rows: EightByEight = (.zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero)
        withUnsafeMutableBytes(of: &rows) { raw in
            let m = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            for i in 0..<64 { m[i] = Float(i) }
        }
        let transposed = SIMDTranspose.transpose(rows)
        withUnsafeBytes(of: transposed) { raw in
            let m = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            for row in 0..<8 {
                for column in 0..<8 {
                    XCTAssertEqual(m[8 * row + column], Float(8 * column + row), "(\(row), \(column))")
                }
            }
        }
    }

    func testSixteenBySixteenWordTransposeSwapsRowsAndColumns() {
        // Entry (row, column) holds 16·row + column.
        var rows: SixteenWordRows = (
            .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero, .zero,
            .zero)
        withUnsafeMutableBytes(of: &rows) { raw in
            let m = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
            for i in 0..<256 { m[i] = UInt32(i) }
        }
        var stored = [UInt32](repeating: 0, count: 16 * 20)
        stored.withUnsafeMutableBytes { raw in
            SIMDTranspose.store(SIMDTranspose.transpose(rows), to: raw.baseAddress!, strideBytes: 80)
        }
        for row in 0..<16 {
            for column in 0..<16 {
                XCTAssertEqual(stored[20 * row + column], UInt32(16 * column + row), "(\(row), \(column))")
            }
            XCTAssertEqual(stored[20 * row + 16 ..< 20 * row + 20], [0, 0, 0, 0], "row \(row): stored past 64 bytes")
        }
    }

    func testCopyEveryOtherTakesTheEvenElementsOfEveryLength() {
        for count in 0..<41 {
            // Exactly the floats a stride-2 row of `count` outputs reads (the vectors stop early
            // enough not to read past source[2·(count − 1)]).
            let length = Swift.max(0, 2 * count - 1)
            let source = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, length))
            defer { source.deallocate() }
            for i in 0..<length { source[i] = Float(i) }
            var destination = [Float](repeating: -1, count: count + 1)
            destination.withUnsafeMutableBufferPointer {
                Convolution.copyEveryOther(from: source, to: $0.baseAddress!, count: count)
            }
            XCTAssertEqual(Array(destination.prefix(count)), (0..<count).map { Float(2 * $0) }, "count \(count)")
            XCTAssertEqual(destination[count], -1, "count \(count): wrote past the row")
        }
    }

    /// The same gather of bf16 bits, reading only source[0 ... 2·(count − 1)]: an allocation of
    /// exactly that length.
    func testCopyEveryOtherOfBitsTakesTheEvenElementsOfEveryLength() {
        for count in 0..<70 {
            let length = Swift.max(0, 2 * count - 1)
            let source = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(1, length))
            defer { source.deallocate() }
            for i in 0..<length { source[i] = UInt16(i) }
            var destination = [UInt16](repeating: 0xFFFF, count: count + 1)
            destination.withUnsafeMutableBufferPointer {
                Convolution.copyEveryOther(from: source, to: $0.baseAddress!, count: count)
            }
            XCTAssertEqual(Array(destination.prefix(count)), (0..<count).map { UInt16(2 * $0) }, "count \(count)")
            XCTAssertEqual(destination[count], 0xFFFF, "count \(count): wrote past the row")
        }
    }
}
