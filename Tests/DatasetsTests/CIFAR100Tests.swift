import Foundation
import XCTest

@testable import Datasets

final class CIFAR100Tests: XCTestCase {
    func directory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cifar100-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A record by hand: coarse label byte, fine label byte, then R, G, B planes of 32x32 bytes.
    func record(coarse: UInt8, fine: UInt8, red: UInt8, green: UInt8, blue: UInt8) -> Data {
        Data([coarse, fine]) + Data(repeating: red, count: 1024) + Data(repeating: green, count: 1024)
            + Data(repeating: blue, count: 1024)
    }

    func testReadsFineOrCoarseLabelsAndNCHWPixels() throws {
        let dir = directory()
        try (record(coarse: 3, fine: 42, red: 255, green: 0, blue: 51) + record(coarse: 19, fine: 99, red: 1, green: 2, blue: 3))
            .write(to: URL(fileURLWithPath: dir + "/train.bin"))
        try record(coarse: 0, fine: 7, red: 10, green: 20, blue: 30).write(to: URL(fileURLWithPath: dir + "/test.bin"))
        let (train, test) = try CIFAR100.load(directory: dir)
        XCTAssertEqual(train.labels, [42, 99])
        XCTAssertEqual([train.channels, train.height, train.width, train.classes], [3, 32, 32, 100])
        XCTAssertEqual(train.name, "cifar100")
        // Red, green and blue planes of the first image, a blue pixel of the second, green of the test image.
        let positions: [Int] = [0, 1024, 2048, 3072 + 2048 + 5]
        let expected: [Float] = [1, 0, 0.2, 3 / 255, 20 / 255]
        XCTAssertEqual(positions.map { train.pixels[$0] } + [test.pixels[1024]], expected)
        XCTAssertEqual(test.labels, [7])
        let (coarseTrain, coarseTest) = try CIFAR100.load(directory: dir, labelMode: .coarse)
        XCTAssertEqual(coarseTrain.labels, [3, 19])
        XCTAssertEqual(coarseTrain.classes, 20)
        XCTAssertEqual(coarseTest.labels, [0])
        XCTAssertEqual(coarseTrain.pixels, train.pixels)
    }

    func testGeneratedFilesRoundTripInBothLabelModes() throws {
        let dir = directory()
        let images = SyntheticShapes.makeColor100(count: 300, seed: 4, stream: "train")
        XCTAssertEqual(images.classes, 100)
        XCTAssertTrue(images.labels.allSatisfy { (0..<100).contains($0) })
        XCTAssertGreaterThan(Set(images.labels).count, 50, "the generator covers most fine classes")
        try CIFAR100.encode(images, coarse: SyntheticShapes.coarseClass).write(to: URL(fileURLWithPath: dir + "/train.bin"))
        try CIFAR100.encode(images.subset(0..<3), coarse: SyntheticShapes.coarseClass)
            .write(to: URL(fileURLWithPath: dir + "/test.bin"))
        let (train, test) = try CIFAR100.load(directory: dir)
        XCTAssertEqual(train.labels, images.labels)
        XCTAssertEqual(test.count, 3)
        for (a, b) in zip(train.pixels, images.pixels) { XCTAssertEqual(a, b, accuracy: 0.5 / 255 + 1e-6) }
        let coarse = try CIFAR100.load(directory: dir, labelMode: .coarse).train
        XCTAssertEqual(coarse.labels, images.labels.map { $0 / 5 })
        XCTAssertEqual(Set(coarse.labels).count, 20)
    }
}

/// Every malformed CIFAR file (wrong size, truncated record, out-of-range label, empty,
/// missing) fails naming the file and, where there is one, the record — in both formats, on
/// files from the generators.
final class CIFARMalformedFileTests: XCTestCase {
    enum Format: CaseIterable { case cifar10, cifar100 }

    /// A directory of generated files: 6 training images (CIFAR-10: in data_batch_1.bin) and 4 test images.
    func generated(_ format: Format) throws -> (directory: String, train: String, test: String, recordBytes: Int) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        switch format {
        case .cifar10:
            let images = SyntheticShapes.makeColor(count: 10, seed: 2, stream: "x")
            try CIFAR10.encode(images.subset(0..<6)).write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
            try CIFAR10.encode(images.subset(6..<10)).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
            return (dir, dir + "/data_batch_1.bin", dir + "/test_batch.bin", CIFAR10.recordBytes)
        case .cifar100:
            let images = SyntheticShapes.makeColor100(count: 10, seed: 2, stream: "x")
            try CIFAR100.encode(images.subset(0..<6), coarse: SyntheticShapes.coarseClass).write(to: URL(fileURLWithPath: dir + "/train.bin"))
            try CIFAR100.encode(images.subset(6..<10), coarse: SyntheticShapes.coarseClass).write(to: URL(fileURLWithPath: dir + "/test.bin"))
            return (dir, dir + "/train.bin", dir + "/test.bin", CIFAR100.recordBytes)
        }
    }

    func load(_ format: Format, _ directory: String) throws {
        switch format {
        case .cifar10: _ = try CIFAR10.load(directory: directory)
        case .cifar100: _ = try CIFAR100.load(directory: directory)
        }
    }

    func assertFails(_ format: Format, _ directory: String, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try load(format, directory), "\(format)", line: line) {
            XCTAssertEqual("\($0)", expected, "\(format)", line: line)
        }
    }

    func edit(_ path: String, _ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func testGeneratedFilesLoad() throws {
        for format in Format.allCases {
            let files = try generated(format)
            XCTAssertNoThrow(try load(format, files.directory), "\(format)")
        }
    }

    func testTruncatedRecordNamesFileAndRecord() throws {
        for format in Format.allCases {
            for inTrain in [true, false] {
                let files = try generated(format)
                let file = inTrain ? files.train : files.test
                try edit(file) { $0.removeLast(100) }
                let size = (file == files.train ? 6 : 4) * files.recordBytes - 100
                let name = format == .cifar10 ? "CIFAR-10" : "CIFAR-100"
                assertFails(format, files.directory, "\(file): \(size) bytes is not a whole number of \(files.recordBytes)-byte "
                    + "\(name) records (truncated at record \(size / files.recordBytes)?)")
            }
        }
    }

    func testWrongSizeNamesFile() throws {
        for format in Format.allCases {
            // Extra bytes after the last record, and a file of the other format's records.
            let files = try generated(format)
            try edit(files.train) { $0.append(contentsOf: [1, 2, 3]) }
            let name = format == .cifar10 ? "CIFAR-10" : "CIFAR-100"
            let size = 6 * files.recordBytes + 3
            assertFails(format, files.directory, "\(files.train): \(size) bytes is not a whole number of "
                + "\(files.recordBytes)-byte \(name) records (truncated at record 6?)")
            let other = try generated(format == .cifar10 ? .cifar100 : .cifar10)
            try FileManager.default.removeItem(atPath: files.test)
            try FileManager.default.copyItem(atPath: other.test, toPath: files.test)
            try edit(files.train) { $0.removeLast(3) }
            let otherSize = 4 * other.recordBytes
            assertFails(format, files.directory, "\(files.test): \(otherSize) bytes is not a whole number of "
                + "\(files.recordBytes)-byte \(name) records (truncated at record \(otherSize / files.recordBytes)?)")
        }
    }

    func testEmptyFileNamesFile() throws {
        for format in Format.allCases {
            let files = try generated(format)
            try Data().write(to: URL(fileURLWithPath: files.test))
            let name = format == .cifar10 ? "CIFAR-10" : "CIFAR-100"
            assertFails(format, files.directory, "\(files.test): is empty; expected \(files.recordBytes)-byte \(name) records")
        }
    }

    func testOutOfRangeLabelNamesFileAndRecord() throws {
        // CIFAR-10: the label byte; CIFAR-100: the coarse byte (20 classes) and the fine byte (100).
        let cases: [(Format, offset: Int, value: UInt8, classes: Int)] =
            [(.cifar10, 0, 10, 10), (.cifar10, 0, 255, 10), (.cifar100, 0, 20, 20), (.cifar100, 1, 100, 100)]
        for (format, offset, value, classes) in cases {
            let files = try generated(format)
            try edit(files.train) { $0[3 * files.recordBytes + offset] = value }
            assertFails(format, files.directory,
                        DataError.labelOutOfRange(path: files.train, index: 3, label: Int(value), classes: classes).description)
            XCTAssertEqual(DataError.labelOutOfRange(path: files.train, index: 3, label: Int(value), classes: classes).description,
                           "\(files.train): label \(value) of item 3 is outside 0..<\(classes)")
        }
    }

    func testMissingFilesNameTheDirectory() throws {
        let files = try generated(.cifar100)
        try FileManager.default.removeItem(atPath: files.test)
        assertFails(.cifar100, files.directory, "no CIFAR-100 files in \(files.directory): expected binary files train.bin "
            + "and test.bin (missing: test.bin)")
        let ten = try generated(.cifar10)
        try FileManager.default.removeItem(atPath: ten.train)
        assertFails(.cifar10, ten.directory, "no CIFAR-10 files in \(ten.directory): expected binary batches "
            + "data_batch_1.bin … data_batch_5.bin and test_batch.bin")
    }
}
