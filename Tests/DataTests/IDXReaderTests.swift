import Data
import Foundation
import XCTest

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
                    containing: ["truncated", "5 images of 4x3", "53 bytes follow"])
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

    func testImageAndLabelCountsMustAgree() throws {
        let directory = IDXTestFiles.directory()
        IDXTestFiles.write(IDXTestFiles.imageBytes(count: 5, rows: 28, columns: 28), "t10k-images-idx3-ubyte", in: directory)
        IDXTestFiles.write(IDXTestFiles.labelBytes([1, 2, 3, 4]), "t10k-labels-idx1-ubyte", in: directory)
        XCTAssertThrowsError(try MNIST.load(directory: directory, trainSplit: 2)) { error in
            XCTAssertTrue("\(error)".contains("holds 5 images but") && "\(error)".contains("holds 4 labels"), "\(error)")
        }
    }
}
