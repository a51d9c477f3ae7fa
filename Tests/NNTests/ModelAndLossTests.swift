import XCTest

@testable import NN
@testable import TensorCore

final class ModelAndLossTests: XCTestCase {
    func testLeNet5MatchesThePyTorchReference() throws {
        let model = try ModelZoo.lenet5()
        XCTAssertEqual(model.parameterCount, 61_706)
        let names = model.namedParameters().map(\.name)
        XCTAssertEqual(names, ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight",
                               "conv3.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        let shapes = model.namedParameters().map(\.parameter.value.shape)
        XCTAssertEqual(shapes, [[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 16, 5, 5], [120],
                                [84, 120], [84], [10, 84], [10]])
        XCTAssertEqual(try model.network.outputShape(for: [4, 1, 28, 28]), [4, 10])
    }

    func testDefaultInitialisationBoundsAndDeterminism() throws {
        let a = try ModelZoo.lenet5(), b = try ModelZoo.lenet5()
        a.initializeParameters(seed: 11)
        b.initializeParameters(seed: 11)
        for ((name, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) {
            XCTAssertEqual(p.value.array, q.value.array, "\(name) differs for the same seed")
        }
        // conv2: fan_in = 6·5·5 = 150, so every weight and bias lies in ±1/√150 and fills it.
        let conv2 = a.namedParameters().first { $0.name == "conv2.weight" }!.parameter.value.array
        let bound = 1 / Float(150).squareRoot()
        XCTAssertLessThanOrEqual(conv2.map(abs).max()!, bound)
        XCTAssertGreaterThan(conv2.map(abs).max()!, 0.95 * bound)
        XCTAssertEqual(Double(conv2.reduce(0, +)) / Double(conv2.count), 0, accuracy: 0.01)
        b.initializeParameters(seed: 12)
        XCTAssertNotEqual(a.namedParameters()[0].parameter.value.array, b.namedParameters()[0].parameter.value.array)
    }

    func testCrossEntropyByHand() {
        let logits = Tensor(shape: [2, 3], values: [1, 2, 3, 1000, 0, -1000])
        let loss = SoftmaxCrossEntropy()
        let result = loss.forward(logits: logits, labels: [2, 1])
        // Row 0: log(e¹+e²+e³) − 3 = 0.4076059644; row 1: 1000 (stable, no overflow).
        XCTAssertEqual(result.lossSum, 0.4076059644 + 1000, accuracy: 1e-4)
        XCTAssertEqual(result.correct, 1)
        let softmax: [Float] = [0.09003057, 0.24472847, 0.66524096]
        XCTAssertEqual(loss.gradient[0], softmax[0] / 2, accuracy: 1e-6)
        XCTAssertEqual(loss.gradient[1], softmax[1] / 2, accuracy: 1e-6)
        XCTAssertEqual(loss.gradient[2], (softmax[2] - 1) / 2, accuracy: 1e-6)
        XCTAssertEqual(loss.gradient[3], 0.5, accuracy: 1e-6)
        XCTAssertEqual(loss.gradient[4], -0.5, accuracy: 1e-6)
    }

    func testShapeErrorsNameTheLayer() {
        let net = Sequential([("conv1", Conv2d(3, 8, kernelSize: 3)), ("conv2", Conv2d(16, 8, kernelSize: 3))])
        XCTAssertThrowsError(try net.outputShape(for: [1, 3, 10, 10])) { error in
            XCTAssertEqual("\(error)", "layer conv2 (Conv2d): expects 16 input channels, got 8")
        }
        XCTAssertThrowsError(try Sequential([("conv", Conv2d(1, 1, kernelSize: 5))]).outputShape(for: [1, 1, 3, 3])) {
            XCTAssertTrue("\($0)".contains("larger than the padded input"), "\($0)")
        }
    }
}
