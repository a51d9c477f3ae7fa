import XCTest

@testable import NN
@testable import TensorCore

final class NormalizationLayerTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    /// [2, 2, 1, 2]: channel 0 holds 1, 2 | 3, 6 (mean 3, biased var 3.5, unbiased 14/3),
    /// channel 1 holds 0, 0 | 4, 4 (mean 2, biased var 4, unbiased 16/3).
    func smallBatch() -> Tensor { Tensor(shape: [2, 2, 1, 2], values: [1, 2, 0, 0, 3, 6, 4, 4]) }

    func smallBatchNorm() -> BatchNorm2d {
        let bn = BatchNorm2d(2)
        bn.weight.value.copy(from: Tensor(shape: [2], values: [2, 1]))
        bn.bias.value.copy(from: Tensor(shape: [2], values: [0.5, -1]))
        return bn
    }

    func testBatchNormTrainingForwardAndRunningStatisticsByHand() {
        let bn = smallBatchNorm()
        XCTAssertEqual(bn.namedParameters().map(\.name), ["weight", "bias"])
        XCTAssertEqual(bn.namedBuffers().map(\.name), ["running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(bn.numBatchesTracked.shape, [])
        let y = bn.forward(smallBatch())
        // y = γ·(x − mean)/√(var + 1e-5) + β with the batch's biased variance.
        let expected: [Float] = [-1.6380869, -0.5690434, -1.9999988, -1.9999988,
                                 0.5, 3.7071303, -1.25e-6, -1.25e-6]
        for i in 0..<8 { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5, "y[\(i)]") }
        // running = 0.9·running + 0.1·batch, with the unbiased variance.
        XCTAssertEqual(bn.runningMean[0], 0.3, accuracy: 1e-6)
        XCTAssertEqual(bn.runningMean[1], 0.2, accuracy: 1e-6)
        XCTAssertEqual(bn.runningVar[0], 0.9 + 0.1 * 14 / 3, accuracy: 1e-6)
        XCTAssertEqual(bn.runningVar[1], 0.9 + 0.1 * 16 / 3, accuracy: 1e-6)
        XCTAssertEqual(bn.numBatchesTracked[0], 1)
        _ = bn.forward(smallBatch())
        XCTAssertEqual(bn.numBatchesTracked[0], 2)
        XCTAssertEqual(bn.runningMean[0], 0.9 * 0.3 + 0.3, accuracy: 1e-6)
    }

    func testBatchNormEvaluationUsesRunningStatistics() {
        let bn = smallBatchNorm()
        _ = bn.forward(smallBatch())
        bn.setTraining(false)
        let y = bn.forward(smallBatch())
        let expected: [Float] = [1.6975541, 3.4083457, -1.1670532, -1.1670532,
                                 5.1191373, 10.251512, 2.1740114, 2.1740114]
        for i in 0..<8 { XCTAssertEqual(y[i], expected[i], accuracy: 1e-5, "y[\(i)]") }
        XCTAssertEqual(bn.numBatchesTracked[0], 1, "evaluation must not count batches")
        XCTAssertEqual(bn.runningMean[0], 0.3, accuracy: 1e-6, "evaluation must not move running statistics")
    }

    func testBatchNormResetAndShapeErrors() {
        let bn = smallBatchNorm()
        _ = bn.forward(smallBatch())
        bn.initializeParameters(seed: 1)
        XCTAssertEqual(bn.weight.value.array, [1, 1])
        XCTAssertEqual(bn.bias.value.array, [0, 0])
        XCTAssertEqual(bn.runningMean.array, [0, 0])
        XCTAssertEqual(bn.runningVar.array, [1, 1])
        XCTAssertEqual(bn.numBatchesTracked[0], 0)
        XCTAssertThrowsError(try bn.outputShape(for: [1, 3, 4, 4])) {
            XCTAssertEqual("\($0)", "layer BatchNorm2d: expects 2 channels, got 3")
        }
        XCTAssertThrowsError(try bn.outputShape(for: [1, 2]))
    }

    func testBatchNormGradientInTrainingMode() {
        let bn = BatchNorm2d(3)
        bn.weight.value.copy(from: GradientCheck.randomTensor([3], seed: 21, scale: 2))
        bn.bias.value.copy(from: GradientCheck.randomTensor([3], seed: 22))
        GradientCheck.check(bn, input: GradientCheck.randomTensor([3, 3, 4, 3], seed: 23), step: 5e-3)
    }

    func testBatchNormGradientInEvaluationMode() {
        let bn = BatchNorm2d(2)
        bn.weight.value.copy(from: Tensor(shape: [2], values: [1.5, -0.5]))
        bn.runningMean.copy(from: Tensor(shape: [2], values: [0.2, -0.3]))
        bn.runningVar.copy(from: Tensor(shape: [2], values: [0.5, 2]))
        bn.setTraining(false)
        GradientCheck.check(bn, input: GradientCheck.randomTensor([2, 2, 3, 3], seed: 24))
    }

    func testBatchNormBackwardOverwritesParameterGradients() {
        let bn = smallBatchNorm()
        let gradOutput = GradientCheck.randomTensor([2, 2, 1, 2], seed: 25)
        _ = bn.forward(smallBatch())
        _ = bn.backward(gradOutput)
        let once = (bn.weight.gradient.array, bn.bias.gradient.array)
        _ = bn.forward(smallBatch())
        _ = bn.backward(gradOutput)
        XCTAssertEqual(bn.weight.gradient.array, once.0)
        XCTAssertEqual(bn.bias.gradient.array, once.1)
        bn.needsInputGradient = false
        _ = bn.forward(smallBatch())
        _ = bn.backward(gradOutput)
        XCTAssertEqual(bn.weight.gradient.array, once.0, "parameter gradients do not depend on needsInputGradient")
    }

    func testBatchNormReusesBuffers() {
        assertReusesBuffers(BatchNorm2d(3), input: GradientCheck.randomTensor([2, 3, 5, 5], seed: 26))
    }

    func testLocalResponseNormByHand() throws {
        // x = 1, 2, 3 across channels. size 3 (window c−1...c+1), α = 0.3:
        // s = 1 + 0.1·(1+4), 1 + 0.1·(1+4+9), 1 + 0.1·(4+9) = 1.5, 2.4, 2.3; y = x·s^−0.75.
        let x = Tensor(shape: [1, 3, 1, 1], values: [1, 2, 3])
        let centred = LocalResponseNorm(size: 3, alpha: 0.3).forward(x)
        for (i, value) in [Float(0.73778795), 1.0372216, 1.6062953].enumerated() {
            XCTAssertEqual(centred[i], value, accuracy: 1e-5)
        }
        // size 2 takes the channel before and itself (⌊2/2⌋ before, ⌊1/2⌋ after), α/size = 0.1:
        // s = 1.1, 1.5, 2.3.
        let lopsided = LocalResponseNorm(size: 2, alpha: 0.2).forward(x)
        for (i, value) in [Float(0.93101245), 1.4755759, 1.6062953].enumerated() {
            XCTAssertEqual(lopsided[i], value, accuracy: 1e-5)
        }
        let lrn = LocalResponseNorm(size: 5)
        XCTAssertEqual(lrn.kind, "LocalResponseNorm")
        XCTAssertEqual(try lrn.outputShape(for: [2, 96, 55, 55]), [2, 96, 55, 55])
        XCTAssertThrowsError(try lrn.outputShape(for: [2, 96]))
    }

    func testLocalResponseNormGradient() {
        // Large α so the normalisation term matters; even and odd sizes for both window sides.
        let input = GradientCheck.randomTensor([2, 6, 3, 3], seed: 27, scale: 2)
        GradientCheck.check(LocalResponseNorm(size: 5, alpha: 0.5, beta: 0.75, k: 1), input: input)
        GradientCheck.check(LocalResponseNorm(size: 2, alpha: 1, beta: 0.6, k: 2), input: input)
        GradientCheck.check(LocalResponseNorm(size: 4, alpha: 0.8), input: GradientCheck.randomTensor([1, 5, 7], seed: 28))
    }

    func testLocalResponseNormReusesBuffers() {
        assertReusesBuffers(LocalResponseNorm(size: 3), input: GradientCheck.randomTensor([2, 4, 3, 3], seed: 29))
    }

    /// In a chain, a BatchNorm2d followed by a ReLU applies the ReLU itself (the ReLU passes
    /// through): the same bits as the two layers run separately, forward and backward, in
    /// training and evaluation, with values at and around zero after normalisation.
    func testBatchNormApplyingTheFollowingReLUMatchesTheTwoLayersBitwise() {
        let shape = [3, 5, 7, 9]
        let fusedNorm = BatchNorm2d(5), fusedReLU = ReLU()
        let chain = Sequential([("bn", fusedNorm), ("relu", fusedReLU)])
        XCTAssertTrue(fusedNorm.appliesReLU)
        XCTAssertTrue(fusedReLU.passesThrough)
        let norm = BatchNorm2d(5), relu = ReLU()
        XCTAssertFalse(norm.appliesReLU)
        for layer in [fusedNorm, norm] {
            for c in 0..<5 {
                layer.weight.value[c] = 0.5 + 0.3 * Float(c)
                layer.bias.value[c] = Float(c) * 0.2 - 0.4
            }
        }
        let input = Tensor(shape: shape)
        // Exact zeros in the input make the normalised value cross zero in some channels.
        for i in 0..<input.count { input.pointer[i] = i % 11 == 0 ? 0 : Float(sin(Double(i) * 0.7)) }
        let gradOutput = Tensor(shape: shape)
        for i in 0..<gradOutput.count { gradOutput.pointer[i] = Float(cos(Double(i) * 0.3)) }
        for training in [true, false] {
            chain.setTraining(training)
            norm.isTraining = training
            relu.isTraining = training
            let fusedOutput = chain.forward(input).array
            let expectedOutput = relu.forward(norm.forward(input)).array
            XCTAssertEqual(fusedOutput.map(\.bitPattern), expectedOutput.map(\.bitPattern), "training \(training)")
            XCTAssertTrue(fusedOutput.contains(0) && fusedOutput.contains { $0 > 0 })
            let fusedGradInput = chain.backward(gradOutput).array
            let expectedGradInput = norm.backward(relu.backward(gradOutput)).array
            XCTAssertEqual(
                fusedGradInput.map(\.bitPattern), expectedGradInput.map(\.bitPattern), "training \(training)")
            XCTAssertEqual(fusedNorm.weight.gradient.array, norm.weight.gradient.array, "training \(training)")
            XCTAssertEqual(fusedNorm.bias.gradient.array, norm.bias.gradient.array, "training \(training)")
            XCTAssertEqual(fusedNorm.runningVar.array, norm.runningVar.array, "training \(training)")
        }
    }
}
