import XCTest

@testable import NN
@testable import TensorCore

final class AdaptivePoolingTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    func testAdaptiveAveragePool5x5To3x3ByHand() throws {
        // x[r, c] = 5r + c; bins over 5 → 3 are rows/columns 0..<2, 1..<4, 3..<5 (they overlap),
        // and since x is linear each average is x at the bin's centre.
        let x = Tensor(shape: [1, 1, 5, 5], values: (0..<25).map(Float.init))
        let pool = AdaptiveAvgPool2d(outputSize: 3)
        XCTAssertEqual(try pool.outputShape(for: [1, 1, 5, 5]), [1, 1, 3, 3])
        let y = pool.forward(x)
        let expected: [Float] = [3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21]
        for i in 0..<9 { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5, "y[\(i)]") }
    }

    func testGlobalAndRectangularPooling() throws {
        let x = GradientCheck.randomTensor([2, 3, 7, 6], seed: 1)
        let global = AdaptiveAvgPool2d(outputSize: 1)
        let y = global.forward(x)
        XCTAssertEqual(y.shape, [2, 3, 1, 1])
        for plane in 0..<6 {
            let mean = (0..<42).map { x[plane * 42 + $0] }.reduce(0, +) / 42
            XCTAssertEqual(y[plane], mean, accuracy: 1e-5)
        }
        XCTAssertEqual(try AdaptiveAvgPool2d(outputSize: Size2D(2, 4)).outputShape(for: [2, 3, 7, 6]), [2, 3, 2, 4])
        XCTAssertThrowsError(try global.outputShape(for: [2, 3, 7])) {
            XCTAssertTrue("\($0)".contains("AdaptiveAvgPool2d"), "\($0)")
        }
    }

    func testReceptiveWindowForSummaries() {
        let global = AdaptiveAvgPool2d(outputSize: 1).receptiveWindow(inputShape: [1, 512, 7, 7])
        XCTAssertEqual(global?.extent, Size2D(7))
        let halves = AdaptiveAvgPool2d(outputSize: 3).receptiveWindow(inputShape: [1, 8, 7, 6])
        XCTAssertEqual(halves?.extent, Size2D(3, 2))
        XCTAssertEqual(halves?.stride, Size2D(2, 2))
    }

    func testAdaptiveAveragePoolGradient() {
        GradientCheck.check(AdaptiveAvgPool2d(outputSize: 3), input: GradientCheck.randomTensor([2, 2, 5, 5], seed: 2))
        GradientCheck.check(AdaptiveAvgPool2d(outputSize: Size2D(2, 4)),
                            input: GradientCheck.randomTensor([1, 2, 7, 6], seed: 3))
        GradientCheck.check(AdaptiveAvgPool2d(outputSize: 1), input: GradientCheck.randomTensor([2, 3, 4, 4], seed: 4))
    }

    func testAdaptiveAveragePoolReusesBuffers() {
        assertReusesBuffers(AdaptiveAvgPool2d(outputSize: 2), input: GradientCheck.randomTensor([2, 3, 5, 5], seed: 5))
    }
}
