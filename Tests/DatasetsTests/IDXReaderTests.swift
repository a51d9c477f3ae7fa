import Foundation
import XCTest

@testable import Datasets

final class IDXReaderTests: XCTestCase {
    func testReadsPlainAndGzipFilesExactly() throws {
        let directory = IDXTestFiles.directory()
        let plain = IDXTestFiles.write(IDXTestFiles.imageBytes(count: 5), "images", in: directory)
        let zipped = IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.imageBytes(count: 5)), "images.gz", in: directory)
        for path in [plain, zipped] {
            let images = try IDXReader.readImages(path: path)
            XCTAssertEqual([images.count, images.rows, images.columns], [5, 4, 3])
            XCTAssertEqual(images.pixels, (0..<60).map { UInt8($0) })
        }
        let labels = IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.labelBytes([3, 1, 4, 1, 5])), "labels.gz", in: directory)
        XCTAssertEqual(try IDXReader.readLabels(path: labels), [3, 1, 4, 1, 5])
    }

    func assertFails(_ path: String, containing fragments: [String], labels: Bool = false,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(labels ? try IDXReader.readLabels(path: path) as Any : try IDXReader.readImages(path: path),
                             file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path), "message does not name the file: \(message)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(fragment)' missing in: \(message)", file: file, line: line)
            }
        }
    }

    func testMalformedFilesFailWithTheFileAndTheProblem() {
        let directory = IDXTestFiles.directory()
        let full = IDXTestFiles.imageBytes(count: 5)
        assertFails(IDXTestFiles.write(Array(full.dropLast(7)), "truncated", in: directory),
                    containing: ["truncated: header says 5 images of 4x3 (60 bytes of data) but only 53 bytes follow"])
        assertFails(IDXTestFiles.write(IDXTestFiles.gzip(Array(full.dropLast(7))), "truncated.gz", in: directory),
                    containing: ["truncated"])
        assertFails(IDXTestFiles.write(full + [1, 2], "trailing", in: directory), containing: ["2 unexpected bytes"])
        assertFails(IDXTestFiles.write(IDXTestFiles.imageBytes(count: 5, magic: 0x801), "wrong-magic", in: directory),
                    containing: ["bad magic number 0x00000801", "expected 0x00000803"])
        assertFails(IDXTestFiles.write(Array(full[0..<10]), "short-header", in: directory), containing: ["truncated"])
        assertFails(IDXTestFiles.write(Array(IDXTestFiles.gzip(full).dropLast(12)), "cut.gz", in: directory),
                    containing: ["corrupt gzip"])
        var garbled = IDXTestFiles.gzip(full)
        for i in 12..<min(garbled.count, 30) { garbled[i] ^= 0x5A }
        assertFails(IDXTestFiles.write(garbled, "garbled.gz", in: directory), containing: ["corrupt gzip"])
        assertFails(directory + "/absent", containing: ["file not found"])
        assertFails(IDXTestFiles.write(IDXTestFiles.labelBytes([1, 2, 12]), "bad-label", in: directory),
                    containing: ["label 12 of item 2 is outside 0..<10"], labels: true)
    }

    func testConcatenatedGzipMembersAndMisnamedPlainFiles() throws {
        let directory = IDXTestFiles.directory()
        let full = IDXTestFiles.imageBytes(count: 5)
        // `cat a.gz b.gz` is one valid gzip file of both contents.
        let joined = IDXTestFiles.write(IDXTestFiles.gzip(Array(full[0..<20])) + IDXTestFiles.gzip(Array(full[20...])),
                                        "joined.gz", in: directory)
        XCTAssertEqual(try IDXReader.readImages(path: joined).pixels, (0..<60).map { UInt8($0) })
        // Content decides, not the name: an uncompressed file called .gz reads as it is.
        let misnamed = IDXTestFiles.write(full, "plain.gz", in: directory)
        XCTAssertEqual(try IDXReader.readImages(path: misnamed).count, 5)
        // A large gzip file (several inflate output chunks) round-trips exactly.
        let big = IDXTestFiles.imageBytes(count: 3_000, rows: 28, columns: 28)
        let bigPath = IDXTestFiles.write(IDXTestFiles.gzip(big), "big.gz", in: directory)
        XCTAssertEqual(try IDXReader.readImages(path: bigPath).pixels, Array(big[16...]))
    }

    func testMalformedHeadersAndLabelFiles() {
        let directory = IDXTestFiles.directory()
        assertFails(IDXTestFiles.write(IDXTestFiles.imageBytes(count: 0), "no-images", in: directory),
                    containing: ["header says 0 images"])
        assertFails(IDXTestFiles.write(IDXTestFiles.imageBytes(count: 1, rows: 0), "zero-rows", in: directory),
                    containing: ["image size 0x3 is not plausible"])
        assertFails(IDXTestFiles.write(IDXTestFiles.labelBytes([1, 2], magic: 0x803), "labels-magic", in: directory),
                    containing: ["bad magic number 0x00000803 (expected 0x00000801 for an IDX label file)"], labels: true)
        assertFails(IDXTestFiles.write(Array(IDXTestFiles.labelBytes([1, 2, 3]).dropLast()), "labels-short", in: directory),
                    containing: ["truncated: header says 3 labels (3 bytes of data) but only 2 bytes follow"], labels: true)
        assertFails(IDXTestFiles.write(IDXTestFiles.labelBytes([1]) + [0], "labels-long", in: directory),
                    containing: ["1 unexpected bytes after the data"], labels: true)
        assertFails(IDXTestFiles.write([0x1F, 0x8B, 0x08, 0x00], "stub.gz", in: directory),
                    containing: ["corrupt gzip stream (zlib: unexpected end of file"])
        assertFails(IDXTestFiles.write([], "empty", in: directory), containing: ["truncated"])
        assertFails(directory, containing: ["is a directory"])
    }

    func testImageAndLabelCountsMustAgree() throws {
        let directory = IDXTestFiles.directory()
        IDXTestFiles.write(IDXTestFiles.imageBytes(count: 5, rows: 28, columns: 28), "t10k-images-idx3-ubyte", in: directory)
        IDXTestFiles.write(IDXTestFiles.labelBytes([1, 2, 3, 4]), "t10k-labels-idx1-ubyte", in: directory)
        XCTAssertThrowsError(try MNIST.load(directory: directory, trainSplit: 2)) { error in
            XCTAssertEqual("\(error)", "\(directory)/t10k-images-idx3-ubyte holds 5 images but "
                           + "\(directory)/t10k-labels-idx1-ubyte holds 4 labels")
        }
    }
}
