import Foundation
import XCTest
import Train

final class SHA256Tests: XCTestCase {
    private func digestHex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { SHA256.hex($0) }
    }

    private func digestHex(parts: [ArraySlice<UInt8>]) -> String {
        var hasher = SHA256()
        for part in parts { part.withUnsafeBytes { hasher.update($0) } }
        return SHA256.hex(hasher.finalize())
    }

    /// Deterministic pseudo-random bytes (SplitMix64).
    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return UInt8(truncatingIfNeeded: z ^ (z >> 31))
        }
    }

    // MARK: FIPS 180-4 / NIST example vectors

    func testNISTVectors() {
        XCTAssertEqual(digestHex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(digestHex(Array("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(digestHex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(digestHex(Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                        + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionA() {
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        var hasher = SHA256()
        for _ in 0..<1000 { chunk.withUnsafeBytes { hasher.update($0) } }
        XCTAssertEqual(SHA256.hex(hasher.finalize()),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // And in one call.
        let whole = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(digestHex(whole), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    // MARK: Against the system sha256sum

    /// Every length 0...300 (all padding boundaries: 55/56/63/64/119/120/127/128...) with random
    /// content, checked against one `sha256sum` run over all of them.
    func testMatchesSystemSHA256Sum() throws {
        let tool = "/usr/bin/sha256sum"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("no \(tool)") }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sha256-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var expected: [String: String] = [:]
        var paths: [String] = []
        for length in 0...300 {
            let bytes = randomBytes(length, seed: UInt64(length) &* 7919 &+ 1)
            let path = directory.appendingPathComponent("m\(length).bin").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
            expected[path] = digestHex(bytes)
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = paths
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)

        var checked = 0
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            // "<64 hex>  <path>"
            let hex = String(line.prefix(64))
            let path = String(line.dropFirst(66))
            XCTAssertEqual(expected[path], hex, "digest mismatch for \(path)")
            checked += 1
        }
        XCTAssertEqual(checked, paths.count)
    }

    // MARK: Any split of the input gives the same digest

    /// All ways of cutting `message` at the nondecreasing cut points drawn from `positions`
    /// (empty parts included), `cuts` cut points, i.e. `cuts + 1` update calls.
    private func checkAllSplits(_ message: [UInt8], positions: [Int], cuts: Int, expected: String,
                                file: StaticString = #filePath, line: UInt = #line) -> Int {
        var count = 0
        var failures = 0
        var chosen = [Int](repeating: 0, count: cuts)
        func recurse(_ depth: Int, _ from: Int) {
            if depth == cuts {
                var parts: [ArraySlice<UInt8>] = []
                var start = 0
                for cut in chosen.map({ positions[$0] }) {
                    parts.append(message[start..<cut])
                    start = cut
                }
                parts.append(message[start...])
                count += 1
                if digestHex(parts: parts) != expected, failures < 5 {
                    failures += 1
                    XCTFail("split at \(chosen.map { positions[$0] }) differs", file: file, line: line)
                }
                return
            }
            for index in from..<positions.count {
                chosen[depth] = index
                recurse(depth + 1, index)
            }
        }
        recurse(0, 0)
        return count
    }

    func testEverySplitOfShortMessage() {
        // 1-5 update calls, every cut position of a 20-byte message.
        let message = randomBytes(20, seed: 42)
        let expected = digestHex(message)
        var total = 0
        for cuts in 0...4 { total += checkAllSplits(message, positions: Array(0...20), cuts: cuts, expected: expected) }
        XCTAssertEqual(total, 1 + 21 + 231 + 1771 + 10626)
    }

    func testEverySplitIntoThreeAcrossBlocks() {
        // 1-3 update calls, every cut position of a 130-byte (three-block) message.
        let message = randomBytes(130, seed: 7)
        let expected = digestHex(message)
        for cuts in 0...2 { _ = checkAllSplits(message, positions: Array(0...130), cuts: cuts, expected: expected) }
    }

    func testSplitsIntoFiveAtBlockBoundaries() {
        // 4-5 update calls with cuts at and around the block and padding boundaries.
        let positions = [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 200]
        for length in [55, 56, 63, 64, 119, 120, 128, 200] {
            let message = randomBytes(length, seed: UInt64(length))
            let expected = digestHex(message)
            let usable = positions.filter { $0 <= length }
            for cuts in 3...4 { _ = checkAllSplits(message, positions: usable, cuts: cuts, expected: expected) }
        }
    }

    // MARK: API details

    func testGenericSequenceUpdate() {
        let message = randomBytes(10_000, seed: 99)
        let expected = digestHex(message)
        var viaArray = SHA256()
        viaArray.update(message)
        XCTAssertEqual(SHA256.hex(viaArray.finalize()), expected)
        // Non-contiguous sequence: goes through the chunked path (crosses 4096-byte chunks).
        var viaLazy = SHA256()
        viaLazy.update(message.lazy.map { $0 })
        XCTAssertEqual(SHA256.hex(viaLazy.finalize()), expected)
        var viaMixed = SHA256()
        viaMixed.update(message[0..<100])
        viaMixed.update(AnySequence(message[100..<5000]))
        message[5000...].withUnsafeBytes { viaMixed.update($0) }
        XCTAssertEqual(SHA256.hex(viaMixed.finalize()), expected)
    }

    func testHexEncodesDigestBytes() {
        XCTAssertEqual(SHA256.hex([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
        XCTAssertEqual(SHA256.hex([UInt8]()), "")
        var hasher = SHA256()
        hasher.update(Array("abc".utf8))
        let digest = hasher.finalize()
        XCTAssertEqual(digest.count, 32)
        XCTAssertEqual(SHA256.hex(digest), digestHex(Array("abc".utf8)))
        // The raw-buffer overload hashes; an empty buffer (nil base address) is the empty message.
        XCTAssertEqual(SHA256.hex(UnsafeRawBufferPointer(start: nil, count: 0)),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
