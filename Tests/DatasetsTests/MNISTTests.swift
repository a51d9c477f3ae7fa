import Foundation
import XCTest

@testable import Datasets

final class MNISTTests: XCTestCase {
    /// ../shared/data/mnist beside the checkout (the real t10k set, gzip'd), else /work/shared/data/mnist.
    static func sharedMNIST() throws -> String {
        let beside = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/mnist").path
        for candidate in [beside, "/work/shared/data/mnist"] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw XCTSkip("the real MNIST t10k files are absent (looked in \(beside) and /work/shared/data/mnist)")
    }

    func testRealTestSetSplitsEightThousandToTwoThousand() throws {
        let (train, validation) = try MNIST.load(directory: try Self.sharedMNIST())
        XCTAssertEqual(train.count, 8_000)
        XCTAssertEqual(validation.count, 2_000)
        XCTAssertEqual([train.channels, train.height, train.width, train.classes], [1, 28, 28, 10])
        // The t10k set famously starts 7, 2, 1, 0, 4 and ends 4, 5, 6.
        XCTAssertEqual(Array(train.labels.prefix(5)), [7, 2, 1, 0, 4])
        XCTAssertEqual(Array(validation.labels.suffix(3)), [4, 5, 6])
        var histogram = [Int](repeating: 0, count: 10)
        for label in train.labels + validation.labels { histogram[Int(label)] += 1 }
        // Class counts of MNIST's test set.
        XCTAssertEqual(histogram, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        XCTAssertEqual(train.pixels.min(), 0)
        XCTAssertEqual(train.pixels.max(), 1)
        // The t10k set's published pixel mean is 0.1325 (all 10,000 images).
        let all = train.pixels + validation.pixels
        XCTAssertEqual(Double(all.reduce(0, +)) / Double(all.count), 0.1325, accuracy: 0.0005)
    }

    func testStandardLayoutWithTrainingFiles() throws {
        let directory = IDXTestFiles.directory()
        IDXTestFiles.write(IDXTestFiles.imageBytes(count: 6, rows: 2, columns: 2), "train-images-idx3-ubyte", in: directory)
        IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.labelBytes([0, 1, 2, 3, 4, 5])), "train-labels-idx1-ubyte.gz", in: directory)
        IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.imageBytes(count: 2, rows: 2, columns: 2)), "t10k-images-idx3-ubyte.gz", in: directory)
        IDXTestFiles.write(IDXTestFiles.labelBytes([9, 8]), "t10k-labels-idx1-ubyte", in: directory)
        // Where both exist, the uncompressed file wins.
        IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.labelBytes([1, 1])), "t10k-labels-idx1-ubyte.gz", in: directory)
        let (train, validation) = try MNIST.load(directory: directory)
        XCTAssertEqual(train.labels, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(validation.labels, [9, 8])
        XCTAssertEqual(train.pixels, (0..<24).map { Float($0) / 255 })
        XCTAssertEqual(validation.pixels, (0..<8).map { Float($0) / 255 })
        XCTAssertEqual([train.channels, train.height, train.width, train.classes], [1, 2, 2, 10])
    }

    func testMissingFilesAreNamed() {
        let directory = IDXTestFiles.directory()
        XCTAssertThrowsError(try MNIST.load(directory: directory)) { error in
            XCTAssertEqual("\(error)", "no MNIST files in \(directory): expected train-images-idx3-ubyte[.gz] with "
                + "train-labels-idx1-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] with t10k-labels-idx1-ubyte[.gz], "
                + "or only the two t10k files (split by data.train_split); found none of them")
        }
        XCTAssertThrowsError(try MNIST.load(directory: directory + "/nope")) { error in
            XCTAssertEqual("\(error)", directory + "/nope: file not found")
        }
        // Half a layout: the message lists what is there.
        IDXTestFiles.write(IDXTestFiles.imageBytes(count: 2), "train-images-idx3-ubyte.gz", in: directory)
        IDXTestFiles.write(IDXTestFiles.labelBytes([1, 2]), "t10k-labels-idx1-ubyte", in: directory)
        XCTAssertThrowsError(try MNIST.load(directory: directory)) { error in
            XCTAssertTrue("\(error)".hasSuffix("found train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte"), "\(error)")
        }
    }

    func testTestSetSplitNeedsEnoughImages() throws {
        let directory = IDXTestFiles.directory()
        IDXTestFiles.write(IDXTestFiles.imageBytes(count: 5, rows: 2, columns: 2), "t10k-images-idx3-ubyte", in: directory)
        IDXTestFiles.write(IDXTestFiles.gzip(IDXTestFiles.labelBytes([5, 6, 7, 8, 9])), "t10k-labels-idx1-ubyte.gz", in: directory)
        let (train, validation) = try MNIST.load(directory: directory, trainSplit: 3)
        XCTAssertEqual(train.labels, [5, 6, 7])
        XCTAssertEqual(validation.labels, [8, 9])
        XCTAssertEqual(validation.pixels, (12..<20).map { Float($0) / 255 })
        XCTAssertThrowsError(try MNIST.load(directory: directory)) { error in
            XCTAssertEqual("\(error)", directory + "/t10k-images-idx3-ubyte: only 5 images, but the first 8000 are to train "
                + "and at least one more must remain to validate: set data.train_split below 5")
        }
        XCTAssertThrowsError(try MNIST.load(directory: directory, trainSplit: 5))
        XCTAssertThrowsError(try MNIST.load(directory: directory, trainSplit: 0)) { error in
            XCTAssertTrue("\(error)".contains("train split 0 must be positive"), "\(error)")
        }
    }
}
