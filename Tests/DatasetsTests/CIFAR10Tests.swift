import Foundation
import XCTest

@testable import Datasets

final class CIFAR10Tests: XCTestCase {
    func directory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cifar10-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Two records by hand: label byte, then R, G, B planes of 32x32 bytes.
    func record(label: UInt8, red: UInt8, green: UInt8, blue: UInt8) -> Data {
        Data([label]) + Data(repeating: red, count: 1024) + Data(repeating: green, count: 1024) + Data(repeating: blue, count: 1024)
    }

    func testReadsRecordsAsNCHWInUnitRange() throws {
        let dir = directory()
        try (record(label: 3, red: 255, green: 0, blue: 51) + record(label: 9, red: 1, green: 2, blue: 3))
            .write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        try record(label: 0, red: 10, green: 20, blue: 30).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        let (train, test) = try CIFAR10.load(directory: dir)
        XCTAssertEqual(train.count, 2)
        XCTAssertEqual(train.labels, [3, 9])
        XCTAssertEqual([train.channels, train.height, train.width, train.classes], [3, 32, 32, 10])
        XCTAssertEqual(train.pixels[0], 1)
        XCTAssertEqual(train.pixels[1024], 0)
        XCTAssertEqual(train.pixels[2048], 0.2)
        XCTAssertEqual(train.pixels[3072 + 2048 + 5], 3 / 255)
        XCTAssertEqual(test.labels, [0])
        XCTAssertEqual(test.pixels[1024], 20 / 255)
    }

    func testGeneratedFilesRoundTrip() throws {
        let dir = directory()
        let images = SyntheticShapes.makeColor(count: 10, seed: 4, stream: "train")
        try CIFAR10.encode(images).write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        try CIFAR10.encode(images.subset(0..<3)).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        let (train, test) = try CIFAR10.load(directory: dir)
        XCTAssertEqual(train.labels, images.labels)
        XCTAssertEqual(test.count, 3)
        for (a, b) in zip(train.pixels, images.pixels) { XCTAssertEqual(a, b, accuracy: 0.5 / 255 + 1e-6) }
        // The colour tint is independent of the class: not every image of a class has the same hue.
        XCTAssertEqual(Set(images.labels).count > 1, true)
    }

    func testMalformedFilesNameFileAndRecord() throws {
        let dir = directory()
        XCTAssertThrowsError(try CIFAR10.load(directory: dir)) {
            XCTAssertEqual("\($0)", "no CIFAR-10 files in \(dir): expected binary batches data_batch_1.bin … data_batch_5.bin and test_batch.bin")
        }
        try record(label: 0, red: 0, green: 0, blue: 0).write(to: URL(fileURLWithPath: dir + "/test_batch.bin"))
        try (record(label: 1, red: 0, green: 0, blue: 0) + Data([1, 2, 3])).write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        XCTAssertThrowsError(try CIFAR10.load(directory: dir)) {
            XCTAssertEqual("\($0)", "\(dir)/data_batch_1.bin: 3076 bytes is not a whole number of 3073-byte CIFAR-10 records (truncated at record 1?)")
        }
        try (record(label: 1, red: 0, green: 0, blue: 0) + record(label: 12, red: 0, green: 0, blue: 0))
            .write(to: URL(fileURLWithPath: dir + "/data_batch_1.bin"))
        XCTAssertThrowsError(try CIFAR10.load(directory: dir)) {
            XCTAssertEqual("\($0)", DataError.labelOutOfRange(path: dir + "/data_batch_1.bin", index: 1, label: 12, classes: 10).description)
        }
    }
}
