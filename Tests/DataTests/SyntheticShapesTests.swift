import Data
import TensorCore
import XCTest

final class SyntheticShapesTests: XCTestCase {
    func testDeterministicAndIndependentOfThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let a = SyntheticShapes.make(count: 600, seed: 3)
        Parallel.threadCount = 4
        let b = SyntheticShapes.make(count: 600, seed: 3)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(SyntheticShapes.make(count: 600, seed: 4).pixels, a.pixels)
        XCTAssertTrue(a.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        let (train, validation) = SyntheticShapes.load(trainCount: 50, validationCount: 50, seed: 3)
        XCTAssertNotEqual(train.pixels, validation.pixels, "train and validation must be different draws")
    }

    func testClassesAreBalancedAndNotSeparableByMeanIntensity() {
        let set = SyntheticShapes.make(count: 5_000, seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        var means = [[Float]](repeating: [], count: 10)
        for i in 0..<set.count {
            let label = Int(set.labels[i])
            counts[label] += 1
            let image = set.pixels[(i * 784)..<((i + 1) * 784)]
            means[label].append(image.reduce(0, +) / 784)
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 400 && $0 < 600 }, "class counts \(counts)")
        let classMeans = means.map { $0.reduce(0, +) / Float($0.count) }
        let all = means.flatMap { $0 }
        let overall = all.reduce(0, +) / Float(all.count)
        let spread = (all.map { ($0 - overall) * ($0 - overall) }.reduce(0, +) / Float(all.count)).squareRoot()
        // Class means differ by far less than images within a class do.
        XCTAssertLessThan(classMeans.max()! - classMeans.min()!, spread, "class means \(classMeans), spread \(spread)")
    }
}
