import XCTest

@testable import NN
@testable import TensorCore

final class ActivationLayerTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    func testKnownValuesKindsAndInPlaceFlags() {
        let x = Tensor(shape: [1, 4], values: [-2, -1, 0.5, 3])
        XCTAssertEqual(LeakyReLU().forward(x).array, [-0.02, -0.01, 0.5, 3])
        let elu = ELU(alpha: 1.5).forward(x)
        XCTAssertEqual(elu[0], -1.2969971, accuracy: 1e-6)
        XCTAssertEqual(elu[1], 1.5 * -0.63212056, accuracy: 1e-6)
        XCTAssertEqual(Array(elu.array[2...]), [0.5, 3])
        let sigmoid = Sigmoid().forward(x)
        XCTAssertEqual(sigmoid[1], 0.26894142, accuracy: 1e-6)
        XCTAssertEqual(Sigmoid().forward(Tensor(shape: [2], values: [-200, 200])).array, [0, 1])
        XCTAssertEqual(Tanh().forward(x)[2], 0.46211716, accuracy: 1e-6)
        let layers: [Layer] = [LeakyReLU(), ELU(), Sigmoid(), Tanh(), Maxout(pieces: 2)]
        XCTAssertEqual(layers.map(\.kind), ["LeakyReLU", "ELU", "Sigmoid", "Tanh", "Maxout"])
        XCTAssertEqual(layers.map(\.allocatesOutput), [false, false, true, true, true])
    }

    func testElementwiseGradients() {
        let separated = GradientCheck.wellSeparatedTensor([2, 3, 4, 4], seed: 1)
        GradientCheck.check(LeakyReLU(negativeSlope: 0.2), input: separated)
        GradientCheck.check(ELU(alpha: 0.7), input: separated)
        GradientCheck.check(Sigmoid(), input: GradientCheck.randomTensor([2, 3, 4, 4], seed: 2, scale: 3))
        GradientCheck.check(Tanh(), input: GradientCheck.randomTensor([2, 3, 4, 4], seed: 3, scale: 2))
    }

    func testMaxoutTakesTheMaximumOfConsecutiveChannels() throws {
        let maxout = Maxout(pieces: 3)
        XCTAssertEqual(try maxout.outputShape(for: [2, 6, 4, 5]), [2, 2, 4, 5])
        XCTAssertEqual(try maxout.outputShape(for: [2, 12]), [2, 4])
        XCTAssertThrowsError(try maxout.outputShape(for: [2, 7, 4, 4])) {
            XCTAssertEqual("\($0)", "layer Maxout: 7 channels do not divide into groups of 3 pieces")
        }
        // [1, 6]: groups (1, 5, 2) and (−1, −4, −3).
        let y = maxout.forward(Tensor(shape: [1, 6], values: [1, 5, 2, -1, -4, -3]))
        XCTAssertEqual(y.array, [5, -1])
        XCTAssertEqual(maxout.backward(Tensor(shape: [1, 2], values: [10, 20])).array, [0, 10, 0, 20, 0, 0])
    }

    func testMaxoutGradient() {
        GradientCheck.check(Maxout(pieces: 2), input: GradientCheck.wellSeparatedTensor([2, 6, 3, 3], seed: 4))
        GradientCheck.check(Maxout(pieces: 4), input: GradientCheck.wellSeparatedTensor([3, 8], seed: 5))
    }

    func testActivationsReuseBuffers() {
        let x = GradientCheck.randomTensor([2, 4, 3, 3], seed: 6)
        for layer: Layer in [LeakyReLU(), ELU(), Sigmoid(), Tanh(), Maxout(pieces: 2)] {
            assertReusesBuffers(layer, input: x)
        }
    }
}
