import Foundation
import XCTest

@testable import Datasets
@testable import TensorCore

final class SyntheticShapesTests: XCTestCase {
    func testDeterministicAndIndependentOfThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let a = SyntheticShapes.make(count: 600, seed: 3)
        Parallel.threadCount = 4
        let b = SyntheticShapes.make(count: 600, seed: 3)
        Parallel.threadCount = 3
        let c = SyntheticShapes.make(count: 600, seed: 3)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertEqual(a.pixels, c.pixels)
        XCTAssertEqual([a.count, a.channels, a.height, a.width, a.classes], [600, 1, 28, 28, 10])
        XCTAssertEqual(a.pixels.count, 600 * 784)
        // Image i depends on i alone: a smaller set is a prefix of a larger one.
        XCTAssertEqual(SyntheticShapes.make(count: 100, seed: 3).pixels, Array(a.pixels[0..<(100 * 784)]))
        let other = SyntheticShapes.make(count: 600, seed: 4)
        XCTAssertNotEqual(other.pixels, a.pixels)
        XCTAssertNotEqual(other.labels, a.labels)
        XCTAssertTrue(a.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertGreaterThan(a.pixels.max()!, 0.9)
        XCTAssertEqual(SyntheticShapes.make(count: 2, seed: 3, imageSize: 16).pixels.count, 2 * 256)
    }

    func testTrainAndValidationAreDifferentDraws() {
        let (train, validation) = SyntheticShapes.load(trainCount: 300, validationCount: 200, seed: 3)
        XCTAssertEqual([train.count, validation.count], [300, 200])
        let trainImages = Set((0..<train.count).map { Array(train.pixels[($0 * 784)..<(($0 + 1) * 784)]) })
        for i in 0..<validation.count {
            XCTAssertFalse(trainImages.contains(Array(validation.pixels[(i * 784)..<((i + 1) * 784)])), "image \(i) in both")
        }
        let again = SyntheticShapes.load(trainCount: 300, validationCount: 200, seed: 3)
        XCTAssertEqual(again.train.pixels, train.pixels)
        XCTAssertEqual(again.validation.pixels, validation.pixels)
        XCTAssertNotEqual(SyntheticShapes.load(trainCount: 300, validationCount: 1, seed: 4).train.pixels, train.pixels)
    }

    /// Per-image mean intensity and label of a set.
    func meanIntensities(_ set: LabeledImages) -> [(mean: Float, label: Int)] {
        set.pixels.withUnsafeBufferPointer { pixels in
            (0..<set.count).map { i in
                var sum: Float = 0
                for j in (i * set.imageSize)..<((i + 1) * set.imageSize) { sum += pixels[j] }
                return (sum / Float(set.imageSize), Int(set.labels[i]))
            }
        }
    }

    func testClassesAreBalancedAndNotSeparableByMeanIntensity() {
        let (train, validation) = SyntheticShapes.load(trainCount: 5_000, validationCount: 2_000, seed: 1)
        let samples = meanIntensities(train)
        var counts = [Int](repeating: 0, count: 10)
        var means = [[Float]](repeating: [], count: 10)
        for (mean, label) in samples {
            counts[label] += 1
            means[label].append(mean)
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 420 && $0 < 580 }, "class counts \(counts)")
        let classMeans = means.map { $0.reduce(0, +) / Float($0.count) }
        let classSpreads = zip(means, classMeans).map { values, mean in
            (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)).squareRoot()
        }
        let range = classMeans.max()! - classMeans.min()!
        print("synthetic per-class mean intensity: " + zip(classMeans, classSpreads).enumerated().map {
            "\(SyntheticShapes.classNames[$0.offset]) \(String(format: "%.4f±%.4f", $0.element.0, $0.element.1))"
        }.joined(separator: ", ") + String(format: "; range of class means %.4f", range))
        // Class means differ by far less than images within any one class do.
        XCTAssertLessThan(range, 0.5 * classSpreads.min()!, "class means \(classMeans), spreads \(classSpreads)")

        // The best classifier on mean intensity alone (majority class per intensity bin, fitted
        // on the training set) stays near chance (10%) on the validation set.
        let low = samples.map(\.mean).min()!, high = samples.map(\.mean).max()!
        func bin(_ mean: Float) -> Int { max(0, min(19, Int((mean - low) / (high - low) * 20))) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 20)
        for (mean, label) in samples { table[bin(mean)][label] += 1 }
        let prediction = table.map { row in row.indices.max { row[$0] < row[$1] }! }
        let hits = meanIntensities(validation).filter { prediction[bin($0.mean)] == $0.label }.count
        let accuracy = Double(hits) / Double(validation.count)
        print("mean-intensity classifier validation accuracy: \(accuracy)")
        XCTAssertLessThan(accuracy, 0.2)
    }

    func testNoSinglePixelGivesTheClassAway() {
        // For every pixel, the best threshold rule on it alone (one class above, another
        // below) would still confuse most classes: each class's share of pixels that are
        // "bright" overlaps heavily. Check the centre pixel and a corner-ish one.
        let set = SyntheticShapes.make(count: 3_000, seed: 2)
        for pixel in [14 * 28 + 14, 7 * 28 + 7, 20 * 28 + 14] {
            var brightShare = [Double](repeating: 0, count: 10), counts = [Double](repeating: 0, count: 10)
            for i in 0..<set.count {
                let label = Int(set.labels[i])
                counts[label] += 1
                if set.pixels[i * 784 + pixel] > 0.5 { brightShare[label] += 1 }
            }
            let shares = zip(brightShare, counts).map { $0 / $1 }
            XCTAssertTrue(shares.allSatisfy { $0 < 0.9 }, "pixel \(pixel) is bright in nearly every image of a class: \(shares)")
        }
    }

    func testGeneratesTwentyThousandImagesQuickly() {
        let start = Date()
        let set = SyntheticShapes.make(count: 20_000, seed: 5)
        let seconds = Date().timeIntervalSince(start)
        print("generated 20,000 synthetic images in \(String(format: "%.3f", seconds)) s on \(Parallel.threadCount) threads")
        XCTAssertEqual(set.count, 20_000)
        // Well under a second or two even in a debug build; generous for a loaded machine.
        XCTAssertLessThan(seconds, 5)
    }
}
