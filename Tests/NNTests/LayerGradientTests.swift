import XCTest

@testable import NN
@testable import TensorCore

final class LayerGradientTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    func initialized(_ layer: Layer, seed: UInt64 = 3) -> Layer {
        layer.initializeParameters(seed: seed)
        return layer
    }

    func testConv2dPlain() {
        let conv = initialized(Conv2d(3, 4, kernelSize: 3))
        GradientCheck.check(conv, input: GradientCheck.randomTensor([2, 3, 6, 5], seed: 1))
    }

    func testConv2dStridedPadded() {
        let conv = initialized(Conv2d(2, 3, kernelSize: 3, stride: 2, padding: 1))
        GradientCheck.check(conv, input: GradientCheck.randomTensor([2, 2, 7, 7], seed: 2))
    }

    func testConv2dDilated() {
        let conv = initialized(Conv2d(2, 2, kernelSize: 3, padding: 2, dilation: 2))
        GradientCheck.check(conv, input: GradientCheck.randomTensor([1, 2, 7, 6], seed: 3))
    }

    func testConv2dGrouped() {
        let conv = initialized(Conv2d(4, 6, kernelSize: 3, padding: 1, groups: 2))
        GradientCheck.check(conv, input: GradientCheck.randomTensor([2, 4, 5, 5], seed: 4))
    }

    func testConv2dAsymmetricWithoutBias() {
        let conv = initialized(Conv2d(3, 2, kernelSize: Size2D(1, 3), stride: Size2D(2, 1), padding: Size2D(0, 1),
                                      bias: false))
        GradientCheck.check(conv, input: GradientCheck.randomTensor([2, 3, 5, 6], seed: 5))
    }

    func testConv2dPointwiseAndSeparableKernels() {
        let pointwise = initialized(Conv2d(4, 3, kernelSize: 1))
        GradientCheck.check(pointwise, input: GradientCheck.randomTensor([2, 4, 3, 3], seed: 15))
        let row = initialized(Conv2d(3, 2, kernelSize: Size2D(1, 3), padding: Size2D(0, 1)))
        GradientCheck.check(row, input: GradientCheck.randomTensor([2, 3, 4, 5], seed: 16))
        XCTAssertEqual(try row.outputShape(for: [2, 3, 4, 5]), [2, 2, 4, 5])
        let column = initialized(Conv2d(3, 2, kernelSize: Size2D(3, 1), padding: Size2D(1, 0)))
        GradientCheck.check(column, input: GradientCheck.randomTensor([2, 3, 5, 4], seed: 17))
        XCTAssertEqual(try column.outputShape(for: [2, 3, 5, 4]), [2, 2, 5, 4])
    }

    func testConv2dDilationTwoWithoutPadding() {
        let conv = initialized(Conv2d(2, 3, kernelSize: 3, dilation: 2))
        XCTAssertEqual(try conv.outputShape(for: [2, 2, 8, 7]), [2, 3, 4, 3])
        GradientCheck.check(conv, input: GradientCheck.randomTensor([2, 2, 8, 7], seed: 18))
    }

    func testLinear() {
        let linear = initialized(Linear(7, 5))
        GradientCheck.check(linear, input: GradientCheck.randomTensor([3, 7], seed: 6))
    }

    func testMaxPoolOverlappingAndPadded() {
        GradientCheck.check(MaxPool2d(kernelSize: 3, stride: 2, padding: 1),
                            input: GradientCheck.wellSeparatedTensor([2, 2, 7, 7], seed: 8))
        GradientCheck.check(MaxPool2d(kernelSize: 2, stride: 2, ceilMode: true),
                            input: GradientCheck.wellSeparatedTensor([1, 3, 5, 5], seed: 9))
    }

    func testAvgPoolVariants() {
        GradientCheck.check(AvgPool2d(kernelSize: 3, stride: 2, padding: 1, countIncludePad: true),
                            input: GradientCheck.randomTensor([2, 2, 6, 7], seed: 10))
        GradientCheck.check(AvgPool2d(kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false),
                            input: GradientCheck.randomTensor([1, 2, 6, 6], seed: 11))
    }

    func testReLUAndFlatten() {
        GradientCheck.check(ReLU(), input: GradientCheck.wellSeparatedTensor([2, 3, 4, 4], seed: 12))
        GradientCheck.check(Flatten(), input: GradientCheck.randomTensor([2, 3, 2, 2], seed: 13))
    }

    func testSequentialLeNetShapedStack() {
        let net = Sequential([
            ("conv1", Conv2d(1, 3, kernelSize: 3, padding: 1)), ("relu", ReLU()),
            ("pool", MaxPool2d(kernelSize: 2)), ("flatten", Flatten()), ("fc", Linear(3 * 4 * 4, 4)),
        ])
        net.initializeParameters(seed: 5)
        // Smaller step: the ReLU/max kinks of intermediate values must not be crossed.
        GradientCheck.check(net, input: GradientCheck.randomTensor([2, 1, 8, 8], seed: 14), step: 2e-3,
                            tolerance: 3e-2)
    }
}
