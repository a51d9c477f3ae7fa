import XCTest

@testable import TensorCore

final class PrefetchTests: XCTestCase {
    /// The lines a run touches, counted from the line its first byte is in, capped.
    func testLineCountCoversTheRunFromItsFirstLine() {
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000, bytes: 196), 4)  // a 7x7 plane, aligned
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000 + 61, bytes: 196), 5)  // starting late in a line
        // A 14x14 plane from byte 48 ends on a line's end; from byte 49 it spills into one more.
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000 + 48, bytes: 784), 13)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000 + 49, bytes: 784), 14)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000, bytes: 1), 1)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000 + 63, bytes: 2), 2)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000, bytes: 64 * 100), Prefetch.maximumLines)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000, bytes: 0), 0)
        XCTAssertEqual(Prefetch.lineCount(address: 0x1000, bytes: -100), 0)
    }

    /// A hint only: the memory is unchanged, and an empty or negative run asks for nothing.
    func testForReadingLeavesMemoryAsItWas() {
        let values = (0..<100).map { Float($0) }
        values.withUnsafeBytes { raw in
            Prefetch.forReading(raw.baseAddress! + 3, bytes: 300)
            Prefetch.forReading(raw.baseAddress!, bytes: 0)
            Prefetch.forReading(raw.baseAddress!, bytes: -65)
        }
        XCTAssertEqual(values, (0..<100).map { Float($0) })
    }
}
