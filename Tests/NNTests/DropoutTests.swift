import XCTest

@testable import NN
@testable import TensorCore

final class DropoutTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    func mask(_ dropout: Dropout, _ input: Tensor) -> [Bool] {
        let y = dropout.forward(input)
        return (0..<y.count).map { y[$0] != 0 }
    }

    func testEvaluationIsTheIdentity() {
        let dropout = Dropout(p: 0.5)
        dropout.setTraining(false)
        let x = GradientCheck.randomTensor([2, 3, 4, 4], seed: 1)
        XCTAssertEqual(dropout.forward(x).array, x.array)
        let g = GradientCheck.randomTensor([2, 3, 4, 4], seed: 2)
        XCTAssertEqual(dropout.backward(g).array, g.array)
        XCTAssertFalse(dropout.allocatesOutput)
    }

    func testTrainingScalesKeptValuesAndDropsAboutP() {
        let dropout = Dropout(p: 0.3)
        dropout.beginStep(random: RandomGenerator(seed: 5))
        let x = Tensor(shape: [4, 50_000], repeating: 2)
        let y = dropout.forward(x)
        var dropped = 0
        for i in 0..<y.count {
            if y[i] == 0 { dropped += 1 } else { XCTAssertEqual(y[i], 2 / 0.7, accuracy: 1e-6) }
        }
        XCTAssertEqual(Double(dropped) / Double(y.count), 0.3, accuracy: 0.01)
        // The gradient goes through the same mask with the same scale.
        let g = dropout.backward(Tensor(shape: [4, 50_000], repeating: 1))
        for i in stride(from: 0, to: y.count, by: 97) { XCTAssertEqual(g[i], y[i] / 2, accuracy: 1e-6) }
    }

    func testMaskIsAPureFunctionOfTheStream() {
        let x = Tensor(shape: [3, 10_000], repeating: 1)
        let a = Dropout(), b = Dropout()
        let stream = RandomGenerator(seed: 42).split("features.2")
        a.beginStep(random: stream)
        b.beginStep(random: stream)
        let first = mask(a, x)
        XCTAssertEqual(first, mask(b, x), "same stream, same mask")
        XCTAssertEqual(first, mask(a, x), "a second forward in the same step repeats the mask")
        Parallel.threadCount = 1
        XCTAssertEqual(first, mask(b, x), "the mask does not depend on the thread count")
        Parallel.threadCount = 2
        b.beginStep(random: RandomGenerator(seed: 42).split("features.5"))
        XCTAssertNotEqual(first, mask(b, x), "another stream, another mask")
        // Without beginStep a fixed default stream is used.
        XCTAssertEqual(mask(Dropout(), x), mask(Dropout(), x))
    }

    func testZeroAndOneProbabilities() {
        let x = GradientCheck.randomTensor([2, 100], seed: 3)
        XCTAssertEqual(Dropout(p: 0).forward(x).array, x.array)
        XCTAssertTrue(Dropout(p: 1).forward(x).array.allSatisfy { $0 == 0 })
    }

    func testGradientWithAFixedMask() {
        let dropout = Dropout(p: 0.4)
        dropout.beginStep(random: RandomGenerator(seed: 8))
        GradientCheck.check(dropout, input: GradientCheck.randomTensor([2, 3, 4, 4], seed: 4))
    }

    func testReusesBuffers() {
        assertReusesBuffers(Dropout(), input: GradientCheck.randomTensor([2, 3, 4, 4], seed: 5))
    }
}
