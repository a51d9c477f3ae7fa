import XCTest

@testable import Checkpoint

/// `tensor_sha256`: FIPS 180-4 example vectors through swift-crypto, fed in the pieces a
/// checkpoint feeds it (one buffer per tensor, any split).
final class TensorDigestTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { TensorDigest.hex($0) } }

    private func hex(parts: [ArraySlice<UInt8>]) -> String {
        var digest = TensorDigest()
        for part in parts { part.withUnsafeBytes { digest.update($0) } }
        return digest.hex()
    }

    func testNISTVectors() {
        XCTAssertEqual(hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                  + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionAInUnevenPieces() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var parts: [ArraySlice<UInt8>] = []
        var start = 0, size = 1
        while start < bytes.count {
            parts.append(bytes[start..<min(start + size, bytes.count)])
            start += size
            size = size * 3 % 9_973 + 1
        }
        XCTAssertEqual(hex(parts: parts), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testEverySplitOfAShortMessage() {
        let message = Array("The quick brown fox jumps over the lazy dog".utf8)
        for cut in 0...message.count {
            XCTAssertEqual(hex(parts: [message[..<cut], message[cut...]]),
                           "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592", "cut at \(cut)")
        }
    }
}
