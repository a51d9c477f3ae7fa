import XCTest

@testable import NN
@testable import TensorCore

final class ContainerLayerTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    /// An Inception-style block: 1x1, 1x1→3x3 and pool→1x1 branches over the same input.
    func inceptionBlock() -> Concat {
        Concat([
            ("branch1", Sequential([("conv", Conv2d(3, 2, kernelSize: 1)), ("bn", BatchNorm2d(2))])),
            ("branch2", Sequential(indexed: [Conv2d(3, 2, kernelSize: 1), Conv2d(2, 4, kernelSize: 3, padding: 1)])),
            ("branch3", Sequential(indexed: [AvgPool2d(kernelSize: 3, stride: 1, padding: 1),
                                             Conv2d(3, 1, kernelSize: 1)])),
        ])
    }

    func testConcatShapesNamesAndChannelOrder() throws {
        let block = inceptionBlock()
        let net = Sequential([("inception3a", block)])
        net.initializeParameters(seed: 2)
        XCTAssertEqual(try net.outputShape(for: [2, 3, 5, 5]), [2, 7, 5, 5])
        XCTAssertEqual(net.namedParameters().map(\.name), [
            "inception3a.branch1.conv.weight", "inception3a.branch1.conv.bias",
            "inception3a.branch1.bn.weight", "inception3a.branch1.bn.bias",
            "inception3a.branch2.0.weight", "inception3a.branch2.0.bias",
            "inception3a.branch2.1.weight", "inception3a.branch2.1.bias",
            "inception3a.branch3.1.weight", "inception3a.branch3.1.bias",
        ])
        XCTAssertEqual(net.namedBuffers().map(\.name).first, "inception3a.branch1.bn.running_mean")
        XCTAssertEqual(block.branches.map(\.name), ["branch1", "branch2", "branch3"])
        let x = GradientCheck.randomTensor([2, 3, 5, 5], seed: 3)
        let y = net.forward(x).clone()
        // Output channels are the branches' channels in order, per sample.
        var channel = 0
        for branch in block.branches {
            let out = branch.layer.forward(x)
            let channels = out.shape[1]
            for n in 0..<2 {
                for i in 0..<(channels * 25) {
                    XCTAssertEqual(y[(n * 7 + channel) * 25 + i], out[n * channels * 25 + i], "\(branch.name)")
                }
            }
            channel += channels
        }
    }

    func testConcatShapeErrorNamesTheBranch() {
        let block = Concat([("branch1", Conv2d(3, 2, kernelSize: 1)), ("branch2", Conv2d(3, 2, kernelSize: 3))])
        XCTAssertThrowsError(try Sequential([("mixed", block)]).outputShape(for: [1, 3, 5, 5])) {
            XCTAssertEqual("\($0)", "layer mixed (Concat): branch 'branch2' gives [1, 2, 3, 3] but branch 'branch1' gives [1, 2, 5, 5]; branches must agree in every dimension but the channels")
        }
        let nested = Concat([("branch1", Sequential([("conv", Conv2d(4, 2, kernelSize: 1))]))])
        XCTAssertThrowsError(try Sequential([("mixed", nested)]).outputShape(for: [1, 3, 5, 5])) {
            XCTAssertEqual("\($0)", "layer mixed.branch1.conv (Conv2d): expects 4 input channels, got 3")
        }
    }

    func testConcatGradient() {
        let block = inceptionBlock()
        block.initializeParameters(seed: 4)
        GradientCheck.check(block, input: GradientCheck.randomTensor([2, 3, 5, 5], seed: 5), step: 5e-3, samples: 30)
    }

    func testConcatReusesBuffers() {
        let block = inceptionBlock()
        block.initializeParameters(seed: 6)
        assertReusesBuffers(block, input: GradientCheck.randomTensor([2, 3, 5, 5], seed: 7))
    }

    /// torchvision's BasicBlock(4 → 8, stride 2) with its 1x1 downsample.
    func basicBlock(activation: Layer? = ReLU()) -> Residual {
        Residual(main: [
            ("conv1", Conv2d(4, 8, kernelSize: 3, stride: 2, padding: 1, bias: false)), ("bn1", BatchNorm2d(8)),
            ("relu", ReLU()),
            ("conv2", Conv2d(8, 8, kernelSize: 3, padding: 1, bias: false)), ("bn2", BatchNorm2d(8)),
        ], shortcut: ("downsample", Sequential(indexed: [Conv2d(4, 8, kernelSize: 1, stride: 2, bias: false),
                                                         BatchNorm2d(8)])),
        activation: activation)
    }

    func testResidualNamesFollowTorchvisionBasicBlock() throws {
        let block = basicBlock()
        let net = Sequential([("layer2", Sequential(indexed: [block]))])
        XCTAssertEqual(try net.outputShape(for: [2, 4, 6, 6]), [2, 8, 3, 3])
        XCTAssertEqual(net.namedParameters().map(\.name), [
            "layer2.0.conv1.weight", "layer2.0.bn1.weight", "layer2.0.bn1.bias",
            "layer2.0.conv2.weight", "layer2.0.bn2.weight", "layer2.0.bn2.bias",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "layer2.0.downsample.1.bias",
        ])
        XCTAssertEqual(net.namedBuffers().map(\.name).prefix(3),
                       ["layer2.0.bn1.running_mean", "layer2.0.bn1.running_var", "layer2.0.bn1.num_batches_tracked"])
        XCTAssertEqual(block.mainLayers.map(\.name), ["conv1", "bn1", "relu", "conv2", "bn2"])
        XCTAssertEqual(block.shortcut?.name, "downsample")
        XCTAssertEqual(block.children.map(\.name), ["conv1", "bn1", "relu", "conv2", "bn2", "downsample"])
    }

    func testResidualOutputIsActivationOfTheSum() {
        let conv = Conv2d(2, 2, kernelSize: 3, padding: 1)
        conv.initializeParameters(seed: 8)
        let block = Residual(main: [("conv", conv)])
        let x = GradientCheck.randomTensor([2, 2, 4, 4], seed: 9)
        let y = block.forward(x).clone()
        // A copy: the block adds the shortcut into the convolution's output in place.
        let main = conv.forward(x).clone()
        for i in 0..<x.count { XCTAssertEqual(y[i], max(0, main[i] + x[i]), accuracy: 1e-6) }
        let plain = Residual(main: [("conv", conv)], activation: nil)
        let sum = plain.forward(x)
        for i in 0..<x.count { XCTAssertEqual(sum[i], main[i] + x[i], accuracy: 1e-6) }
    }

    func testResidualShapeErrors() {
        let widening = Residual(main: [("conv1", Conv2d(4, 8, kernelSize: 3, padding: 1))])
        XCTAssertThrowsError(try Sequential([("block", widening)]).outputShape(for: [1, 4, 6, 6])) {
            XCTAssertTrue("\($0)".hasPrefix("layer block (Residual): the main path gives [1, 8, 6, 6] but the identity shortcut passes the input [1, 4, 6, 6]"), "\($0)")
        }
        let wrongShortcut = Residual(main: [("conv1", Conv2d(4, 8, kernelSize: 3, stride: 2, padding: 1))],
                                     shortcut: ("downsample", Conv2d(4, 8, kernelSize: 1)))
        XCTAssertThrowsError(try wrongShortcut.outputShape(for: [1, 4, 6, 6])) {
            XCTAssertEqual("\($0)", "layer Residual: the main path gives [1, 8, 3, 3] but the shortcut 'downsample' gives [1, 8, 6, 6]")
        }
    }

    func testResidualGradientWithDownsample() {
        let block = basicBlock(activation: nil)
        block.initializeParameters(seed: 10)
        GradientCheck.check(block, input: GradientCheck.randomTensor([3, 4, 6, 6], seed: 11), step: 2e-3,
                            tolerance: 3e-2, samples: 30)
    }

    func testResidualGradientWithIdentityShortcutAndReLU() {
        let conv = Conv2d(2, 2, kernelSize: 3, padding: 1)
        let block = Residual(main: [("conv", conv), ("bn", BatchNorm2d(2))])
        block.initializeParameters(seed: 12)
        GradientCheck.check(block, input: GradientCheck.randomTensor([2, 2, 4, 4], seed: 13), step: 1e-3,
                            tolerance: 3e-2)
    }

    func testResidualReusesBuffersAndSkipsUnneededInputGradient() {
        let block = basicBlock()
        block.initializeParameters(seed: 14)
        let x = GradientCheck.randomTensor([2, 4, 6, 6], seed: 15)
        assertReusesBuffers(block, input: x)
        let gradOutput = GradientCheck.randomTensor([2, 8, 3, 3], seed: 16)
        _ = block.forward(x)
        _ = block.backward(gradOutput)
        let weightGradient = block.namedParameters()[0].parameter.gradient.array
        block.needsInputGradient = false
        XCTAssertFalse(block.mainLayers[0].layer.needsInputGradient)
        XCTAssertFalse(block.shortcut!.layer.needsInputGradient)
        _ = block.forward(x)
        _ = block.backward(gradOutput)
        XCTAssertEqual(block.namedParameters()[0].parameter.gradient.array, weightGradient)
    }

    func testContainersPassEachChildItsOwnStream() {
        let x = Tensor(shape: [2, 4, 8, 8], repeating: 1)
        let stream = RandomGenerator(seed: 3).split("layer1")
        func dropoutOutput(_ random: RandomGenerator) -> [Float] {
            let reference = Dropout()
            reference.beginStep(random: random)
            return reference.forward(x).array
        }
        let branchDropout = Dropout()
        let block = Concat([("branch1", branchDropout), ("branch2", Dropout())])
        block.beginStep(random: stream)
        XCTAssertEqual(branchDropout.forward(x).array, dropoutOutput(stream.split("branch1")))
        // An activation without parameters is not a child but still gets a stream.
        let activation = Dropout()
        let residual = Residual(main: [("drop", Dropout())], activation: activation)
        XCTAssertEqual(residual.children.map(\.name), ["drop"])
        residual.beginStep(random: stream)
        XCTAssertEqual(activation.forward(x).array, dropoutOutput(stream.split("activation")))
        residual.setTraining(false)
        XCTAssertFalse(activation.isTraining)
    }

    func testResidualActivationWithStateIsAChild() throws {
        let block = Residual(main: [("conv", Conv2d(2, 2, kernelSize: 1))], activation: BatchNorm2d(2))
        XCTAssertEqual(block.children.map(\.name), ["conv", "activation"])
        XCTAssertEqual(block.namedParameters().map(\.name), ["conv.weight", "conv.bias", "activation.weight", "activation.bias"])
        XCTAssertEqual(try block.outputShape(for: [1, 2, 3, 3]), [1, 2, 3, 3])
        XCTAssertFalse(block.allocatesOutput)
    }

    /// ReLUs after Conv2d or Linear work in place (torchvision's inplace=True), except as a
    /// chain's last layer or after a layer whose backward reads its output; one after a
    /// BatchNorm2d passes through, the normalisation applying it, even as the last layer.
    func testReLUsWorkInPlaceWhereSafeAndPassThroughAfterBatchNorm() {
        let chain = Sequential(indexed: [Conv2d(2, 3, kernelSize: 3, padding: 1), ReLU(), BatchNorm2d(3), ReLU(),
                                         Sigmoid(), ReLU(), Conv2d(3, 2, kernelSize: 1), ReLU(), BatchNorm2d(2),
                                         ReLU()])
        let relus = chain.children.compactMap { $0.layer as? ReLU }
        XCTAssertEqual(relus.map(\.inPlace), [true, false, false, true, false])
        XCTAssertEqual(relus.map(\.passesThrough), [false, true, false, false, true])
        XCTAssertEqual(chain.children.compactMap { ($0.layer as? BatchNorm2d)?.appliesReLU }, [true, true])
        let block = Residual(main: [("conv1", Conv2d(3, 3, kernelSize: 3, padding: 1)), ("bn1", BatchNorm2d(3)),
                                    ("relu", ReLU()), ("conv2", Conv2d(3, 3, kernelSize: 3, padding: 1))])
        XCTAssertEqual((block.mainLayers[2].layer as? ReLU)?.passesThrough, true)
        XCTAssertEqual(ReLU().inPlace, false)
        XCTAssertEqual(ReLU().passesThrough, false)
    }

    /// A block whose main path ends in a batch norm adds the shortcut and applies the ReLU in
    /// that batch norm's output pass: bit for bit what the separate sum-and-ReLU pass gives
    /// (output, input gradient, parameter gradients, running statistics), in training and in
    /// evaluation, with a downsample shortcut and with the identity; in Float32 and in bf16, where
    /// both round the batch norm's output and then the sum.
    func testShortcutSumInBatchNormChangesNoValue() {
        let identityBlock = {
            Residual(main: [("conv", Conv2d(4, 4, kernelSize: 3, padding: 1, bias: false)), ("bn", BatchNorm2d(4))])
        }
        for (label, makeBlock, inputShape) in [
            ("downsample", { self.basicBlock() }, [3, 4, 6, 6]), ("identity", identityBlock, [2, 4, 5, 5]),
        ] as [(String, () -> Residual, [Int])] {
            let cases: [(Bool, ComputePrecision)] = [(true, .fp32), (false, .fp32), (true, .bf16), (false, .bf16)]
            for (training, precision) in cases {
                func run(fused: Bool) -> (output: [Float], gradInput: [Float], state: [[Float]], note: Bool) {
                    Residual.fusesShortcutIntoNormalization = fused
                    // bf16 on its exact emulation, whatever this CPU has or CNN_DIST_ISA says.
                    let isa = BFloat16ISA.active
                    BFloat16ISA.active = .emulated
                    defer {
                        Residual.fusesShortcutIntoNormalization = true
                        BFloat16ISA.active = isa
                    }
                    let block = makeBlock()
                    block.initializeParameters(seed: 21)
                    block.setPrecision(precision)
                    XCTAssertNotNil(block.normalizationAddsShortcut, label)
                    let x = GradientCheck.randomTensor(inputShape, seed: 22)
                    // A training forward first moves the running statistics evaluation uses.
                    _ = block.forward(x)
                    block.setTraining(training)
                    let result = block.forward(x)
                    let output = result.array
                    let gradOutput = GradientCheck.randomTensor(result.shape, seed: 23)
                    let gradInput = block.backward(gradOutput).array
                    let state = block.namedParameters().map(\.parameter.gradient.array)
                        + block.namedBuffers().map(\.tensor.array)
                    let last = block.mainLayers.last!.layer as! BatchNorm2d
                    return (output, gradInput, state, last.addedShortcut)
                }
                let fused = run(fused: true), separate = run(fused: false)
                let context = "\(label) training=\(training) \(precision)"
                if precision == .bf16 {
                    XCTAssertTrue(fused.output.allSatisfy { $0 == BFloat16.round($0) }, context)
                    XCTAssertTrue(fused.gradInput.allSatisfy { $0 == BFloat16.round($0) }, context)
                }
                XCTAssertEqual(fused.output.map(\.bitPattern), separate.output.map(\.bitPattern), context)
                XCTAssertEqual(fused.gradInput.map(\.bitPattern), separate.gradInput.map(\.bitPattern), context)
                XCTAssertEqual(
                    fused.state.map { $0.map(\.bitPattern) }, separate.state.map { $0.map(\.bitPattern) }, context)
                XCTAssertTrue(fused.note, context)
                XCTAssertFalse(separate.note, context)
                XCTAssertTrue(fused.output.contains { $0 > 0 } && fused.output.contains { $0 == 0 }, context)
            }
        }
        // Not when the sum cannot be the batch norm's output: no ReLU after it, or a convolution last.
        XCTAssertNil(basicBlock(activation: nil).normalizationAddsShortcut)
        XCTAssertNil(Residual(main: [("conv", Conv2d(2, 2, kernelSize: 1))]).normalizationAddsShortcut)
    }

    /// A chain with an in-place ReLU computes exactly what the same layers compute with a
    /// separate, out-of-place ReLU: output, input gradient and parameter gradients.
    func testInPlaceReLUChangesNoValue() {
        let first = Linear(6, 8), second = Linear(8, 4)
        let chain = Sequential(indexed: [first, ReLU(), second])
        chain.initializeParameters(seed: 4)
        XCTAssertEqual((chain.children[1].layer as? ReLU)?.inPlace, true)
        let x = GradientCheck.randomTensor([5, 6], seed: 8)
        let projection = GradientCheck.randomTensor([5, 4], seed: 9)
        let output = chain.forward(x).array
        let gradInput = chain.backward(projection).array
        let parameterGradients = chain.namedParameters().map(\.parameter.gradient.array)

        let separate = ReLU()
        let expectedOutput = second.forward(separate.forward(first.forward(x))).array
        let expectedGradInput = first.backward(separate.backward(second.backward(projection))).array
        XCTAssertEqual(output, expectedOutput)
        XCTAssertEqual(gradInput, expectedGradInput)
        XCTAssertEqual(parameterGradients, chain.namedParameters().map(\.parameter.gradient.array))
        GradientCheck.check(chain, input: x)
    }
}
