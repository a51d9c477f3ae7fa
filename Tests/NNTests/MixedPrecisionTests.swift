import XCTest

@testable import NN
@testable import Optim
@testable import TensorCore

/// bf16 (autocast) layers against their definition: the Float32 layers run on bf16-rounded
/// inputs, weights and output gradients, with what they return rounded to bf16.
final class MixedPrecisionTests: XCTestCase {
    override func setUp() {
        super.setUp()
        savedISA = BFloat16ISA.active
        BFloat16ISA.active = .emulated
    }

    override func tearDown() {
        BFloat16ISA.active = savedISA
        super.tearDown()
    }

    private var savedISA = BFloat16ISA.emulated

    private func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, values: (0..<count).map { _ in generator.uniform(-1, 1) })
    }

    private func rounded(_ tensor: Tensor) -> Tensor {
        Tensor(shape: tensor.shape, values: tensor.array.map(BFloat16.round))
    }

    private func assertBitwiseEqual(
        _ actual: Tensor, _ expected: Tensor, _ what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.shape, expected.shape, what, file: file, line: line)
        XCTAssertEqual(actual.array.map(\.bitPattern), expected.array.map(\.bitPattern), what, file: file, line: line)
        XCTAssertTrue(
            actual.array.allSatisfy { $0 == BFloat16.round($0) }, "\(what) holds non-bf16 values",
            file: file, line: line)
    }

    /// One forward and backward of `make()` in bf16 against the Float32 layer on rounded values.
    private func checkLayer<L: MixedPrecisionLayer>(
        _ name: String, inputShape: [Int], threads: Int,
        make: () -> L
    ) {
        let bf16 = make(), reference = make()
        bf16.precision = .bf16
        for ((_, p), (_, q)) in zip(bf16.parameters, reference.parameters) {
            let values = random(p.value.shape, seed: UInt64(p.count) &+ 5)
            p.value.copy(from: values)
            q.value.copy(from: rounded(values))
        }
        let input = random(inputShape, seed: 3)
        withThreads(threads) {
            let output = bf16.forward(input)
            let expected = rounded(reference.forward(rounded(input)))
            assertBitwiseEqual(output, expected, "\(name) forward, threads \(threads)")
            let gradOutput = random(output.shape, seed: 4)
            let gradInput = bf16.backward(gradOutput)
            let expectedInput = rounded(reference.backward(rounded(gradOutput)))
            assertBitwiseEqual(gradInput, expectedInput, "\(name) input gradient, threads \(threads)")
            for ((label, p), (_, q)) in zip(bf16.parameters, reference.parameters) {
                assertBitwiseEqual(p.gradient, rounded(q.gradient), "\(name) \(label) gradient, threads \(threads)")
            }
        }
    }

    private func withThreads(_ threads: Int, _ body: () -> Void) {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        body()
    }

    func testConv2dInBFloat16IsFloat32OnRoundedValues() {
        for threads in 1...4 {
            checkLayer("Conv2d 3→8 3×3 stride 2 pad 1", inputShape: [3, 3, 11, 9], threads: threads) {
                Conv2d(3, 8, kernelSize: 3, stride: 2, padding: 1)
            }
            checkLayer("Conv2d 4→6 groups 2 no bias", inputShape: [2, 4, 7, 7], threads: threads) {
                Conv2d(4, 6, kernelSize: 5, groups: 2, bias: false)
            }
        }
    }

    /// On AMX or AVX512-BF16 a bf16 Conv2d hands its Float32 input, weights and output gradient
    /// to the bf16 GEMM, which rounds them as it packs them, and the convolution rounds each
    /// image's result as it writes it; where a Float32 kernel runs instead (Winograd on a large
    /// image, the direct kernel on a 3-channel input) the layer rounds copies first. Either way
    /// the layer equals its convolution on rounded copies, with rounded results, bit for bit.
    func testConv2dOnBFloat16HardwareEqualsItsProductOnRoundedCopies() throws {
        let isa = BFloat16ISA.best(for: .current)
        guard isa != .emulated else {
            throw XCTSkip("no bf16 hardware path: this CPU lacks avx512_bf16 and amx_tile (/proc/cpuinfo)")
        }
        BFloat16ISA.active = isa
        let cases: [(String, () -> Conv2d, [Int], String)] = [
            ("3x3 32→40 no bias", { Conv2d(32, 40, kernelSize: 3, padding: 1, bias: false) }, [2, 32, 9, 11],
             "bf16 GEMM"),
            ("3x3 32→36 stride 2, bias", { Conv2d(32, 36, kernelSize: 3, stride: 2, padding: 1) }, [3, 32, 10, 10],
             "bf16 GEMM"),
            ("1x1 40→36 no bias", { Conv2d(40, 36, kernelSize: 1, bias: false) }, [2, 40, 7, 7], "1x1 bf16 GEMM"),
            ("3x3 64→64 at 112x112", { Conv2d(64, 64, kernelSize: 3, padding: 1, bias: false) }, [1, 64, 112, 112],
             "Winograd 4x4 (bf16 operands)"),
            ("3x3 3→8 first layer", { Conv2d(3, 8, kernelSize: 3, padding: 1) }, [2, 3, 12, 12],
             "direct (bf16 operands)"),
        ]
        let product = MatrixProduct.bfloat16(isa)
        for (name, make, shape, kernel) in cases {
            for threads in [1, 3] {
                let layer = make()
                layer.precision = .bf16
                for (_, p) in layer.parameters { p.value.copy(from: random(p.value.shape, seed: UInt64(p.count) &+ 9)) }
                let input = random(shape, seed: 11)
                let label = "\(name), threads \(threads)"
                withThreads(threads) {
                    let output = layer.forward(input)
                    let g = try! XCTUnwrap(layer.lastGeometry)
                    // The direct kernel splits its work by thread count, and where it cannot
                    // (this image on 3 threads) the GEMM runs; one thread must take it.
                    let direct = Convolution.choice(g, .forward) == .direct
                    let expectedKernel = kernel.hasPrefix("direct") && threads > 1 && !direct ? "bf16 GEMM" : kernel
                    let names = layer.kernelNames!
                    XCTAssertTrue(names.forward.contains(expectedKernel), "\(label): \(names)")
                    let weight = rounded(layer.weight.value), bias = layer.bias.map { rounded($0.value) }
                    let roundedInput = rounded(input)
                    let expected = Tensor(shape: output.shape)
                    Convolution.forward(g, input: roundedInput.pointer, weight: weight.pointer,
                                        bias: bias.map { UnsafePointer($0.pointer) }, output: expected.pointer,
                                        product: product)
                    assertBitwiseEqual(output, rounded(expected), "\(label) forward")

                    let gradOutput = random(output.shape, seed: 12)
                    let gradInput = layer.backward(gradOutput)
                    let roundedGradOutput = rounded(gradOutput)
                    let expectedInput = Tensor(shape: input.shape)
                    Convolution.backwardInput(g, gradOutput: roundedGradOutput.pointer, weight: weight.pointer,
                                              gradInput: expectedInput.pointer, product: product)
                    assertBitwiseEqual(gradInput, rounded(expectedInput), "\(label) input gradient")
                    let expectedWeight = Tensor(shape: weight.shape)
                    let expectedBias = Tensor(shape: [g.outChannels])
                    Convolution.backwardWeight(g, input: roundedInput.pointer, gradOutput: roundedGradOutput.pointer,
                                               gradWeight: expectedWeight.pointer,
                                               gradBias: layer.bias == nil ? nil : expectedBias.pointer,
                                               product: product)
                    assertBitwiseEqual(layer.weight.gradient, rounded(expectedWeight), "\(label) weight gradient")
                    if let bias = layer.bias {
                        assertBitwiseEqual(bias.gradient, rounded(expectedBias), "\(label) bias gradient")
                    }
                }
            }
        }
    }

    /// The copies a bf16 Conv2d always keeps (what `memory_lower_bound_mib` adds): the bias's,
    /// and off the bf16 GEMM (a Float32 kernel, or the emulated path) the weights'. Only the
    /// choice is exercised here, so any CPU can pretend to have AVX512-BF16.
    func testConv2dCountsTheCopiesItAlwaysKeeps() {
        let plain = Conv2d(64, 64, kernelSize: 3, padding: 1, bias: false)
        let biased = Conv2d(64, 64, kernelSize: 3, padding: 1)
        let small = [2, 64, 14, 14], large = [1, 64, 112, 112]
        BFloat16ISA.active = .avx512bf16
        XCTAssertEqual(plain.bfloat16CopyValues(inputShape: small), 0)
        XCTAssertEqual(biased.bfloat16CopyValues(inputShape: small), 64)
        XCTAssertEqual(plain.bfloat16CopyValues(inputShape: large), 64 * 64 * 9, "Winograd 4x4")
        BFloat16ISA.active = .emulated
        XCTAssertEqual(plain.bfloat16CopyValues(inputShape: small), 64 * 64 * 9)
        XCTAssertEqual(biased.bfloat16CopyValues(inputShape: large), 64 * 64 * 9 + 64)
    }

    /// An input or output gradient that holds bf16 values already is used as it is, not copied:
    /// the same bits as with the copy (output, input, weight and bias gradients), and no copy
    /// made. One that does not (a batch norm's output) is copied, rounded.
    func testConv2dUsesBFloat16TensorsWithoutCopying() {
        BFloat16ISA.active = .emulated
        for preRounded in [true, false] {
            func run(checks: Bool) -> (values: [[Float]], copied: Int) {
                BFloat16Copies.checksForBFloat16Values = checks
                defer { BFloat16Copies.checksForBFloat16Values = true }
                let layer = Conv2d(5, 7, kernelSize: 3, padding: 1)
                layer.initializeParameters(seed: 31)
                layer.precision = .bf16
                let x = GradientCheck.randomTensor([2, 5, 6, 6], seed: 32)
                let dy = GradientCheck.randomTensor([2, 7, 6, 6], seed: 33)
                if preRounded {
                    BFloat16Copies.roundInPlace(x)
                    BFloat16Copies.roundInPlace(dy)
                }
                let output = layer.forward(x).array
                let gradInput = layer.backward(dy).array
                return ([output, gradInput, layer.weight.gradient.array, layer.bias!.gradient.array],
                        layer.bf16.input.count + layer.bf16.gradOutput.count)
            }
            let checked = run(checks: true), copied = run(checks: false)
            XCTAssertEqual(checked.values.map { $0.map(\.bitPattern) }, copied.values.map { $0.map(\.bitPattern) },
                           "pre-rounded \(preRounded)")
            XCTAssertEqual(checked.copied, preRounded ? 0 : 2 * 5 * 36 + 2 * 7 * 36, "pre-rounded \(preRounded)")
            XCTAssertEqual(copied.copied, 2 * 5 * 36 + 2 * 7 * 36)
        }
    }

    /// A bf16 batch norm (alone, and applying the ReLU after it) computes in Float32 and returns
    /// the Float32 layer's output and input gradient rounded; its parameter gradients and running
    /// statistics are the Float32 ones. Three channels output one constant each, around the
    /// largest positive value that rounds to 0 (2⁻¹³⁴, bits 0x8000, a tie to even): 2⁻¹⁴⁰ and
    /// 2⁻¹³⁴ round to 0, so the ReLU passes no gradient there; the next Float up rounds to 2⁻¹³³
    /// and passes it.
    func testBatchNormInBFloat16RoundsOutputAndInputGradient() {
        let shape = [3, 6, 5, 6]
        let constantOutputBits: [Int: UInt32] = [3: 0x0000_0200, 4: 0x0000_8000, 5: 0x0000_8001]
        let input = rounded(random(shape, seed: 41)), gradOutput = rounded(random(shape, seed: 42))
        for appliesReLU in [false, true] {
            for training in [true, false] {
                let norm = BatchNorm2d(6), reference = BatchNorm2d(6)
                for layer in [norm, reference] {
                    for c in 0..<6 {
                        layer.weight.value[c] = 0.5 + 0.25 * Float(c)
                        layer.bias.value[c] = 0.1 * Float(c) - 0.15
                    }
                    for (c, bits) in constantOutputBits {
                        layer.weight.value[c] = 0
                        layer.bias.value[c] = Float(bitPattern: bits)
                    }
                }
                let chain = Sequential(appliesReLU ? [("bn", norm), ("relu", ReLU())] : [("bn", norm)])
                XCTAssertEqual(norm.appliesReLU, appliesReLU)
                chain.setPrecision(.bf16)
                chain.setTraining(training)
                reference.isTraining = training
                let context = "ReLU \(appliesReLU) training \(training)"
                let output = chain.forward(input)
                let expected = rounded(reference.forward(input))
                if appliesReLU {
                    for i in 0..<expected.count { expected.pointer[i] = Swift.max(expected.pointer[i], 0) }
                }
                assertBitwiseEqual(output, expected, context + " output")
                let gradInput = chain.backward(gradOutput)
                let masked = Tensor(shape: shape, values: gradOutput.array)
                if appliesReLU {
                    for i in 0..<masked.count where expected.pointer[i] <= 0 { masked.pointer[i] = 0 }
                }
                assertBitwiseEqual(gradInput, rounded(reference.backward(masked)), context + " input gradient")
                XCTAssertEqual(norm.weight.gradient.array, reference.weight.gradient.array, context)
                XCTAssertEqual(norm.bias.gradient.array, reference.bias.gradient.array, context)
                XCTAssertEqual(norm.runningMean.array, reference.runningMean.array, context)
                XCTAssertEqual(norm.runningVar.array, reference.runningVar.array, context)
                if appliesReLU {
                    let gradBeta = norm.bias.gradient
                    XCTAssertEqual(gradBeta[3], 0, context + ": 2⁻¹⁴⁰ rounds to 0, yet passed a gradient")
                    XCTAssertEqual(gradBeta[4], 0, context + ": 2⁻¹³⁴ rounds to 0, yet passed a gradient")
                    XCTAssertNotEqual(gradBeta[5], 0, context + ": above 2⁻¹³⁴ the ReLU passes the gradient")
                }
            }
        }
    }

    /// In bf16 a residual block's sum and input gradient, and a Concat's summed input gradient,
    /// hold bf16 values (the Float32 results rounded), so the convolutions after a batch norm, and
    /// those whose output gradient comes from one, use their tensors without rounded copies.
    func testBlocksRoundSumsAndGradientsAndConvolutionsCopyNothingAfterANorm() {
        let conv1 = Conv2d(4, 4, kernelSize: 3, padding: 1, bias: false)
        let conv2 = Conv2d(4, 4, kernelSize: 3, padding: 1, bias: false)
        let block = Residual(main: [("conv1", conv1), ("bn1", BatchNorm2d(4)), ("relu", ReLU()),
                                    ("conv2", conv2), ("bn2", BatchNorm2d(4))])
        block.initializeParameters(seed: 43)
        block.setPrecision(.bf16)
        let x = random([2, 4, 5, 5], seed: 44)
        let output = block.forward(x)
        let gradInput = block.backward(random(output.shape, seed: 45))
        XCTAssertTrue(output.array.allSatisfy { $0 == BFloat16.round($0) })
        XCTAssertTrue(gradInput.array.allSatisfy { $0 == BFloat16.round($0) })
        XCTAssertEqual(conv2.bf16.input.count, 0, "conv2's input is bn1's rounded output, through ReLU")
        XCTAssertEqual(conv2.bf16.gradOutput.count, 0, "conv2's output gradient is bn2's rounded input gradient")
        XCTAssertEqual(conv1.bf16.gradOutput.count, 0, "conv1's output gradient is bn1's rounded input gradient")
        XCTAssertEqual(conv1.bf16.input.count, x.count, "the block's input is not rounded: copied")

        // Concat: the branches' bf16 input gradients, summed in Float32, rounded once.
        func branches() -> [Conv2d] {
            zip([2, 3, 2], [46, 47, 50]).map { channels, seed in
                let branch = Conv2d(3, channels, kernelSize: 1, bias: false)
                branch.initializeParameters(seed: UInt64(seed))
                branch.precision = .bf16
                return branch
            }
        }
        let concat = Concat(branches().enumerated().map { ("branch\($0.offset)", $0.element as Layer) })
        concat.setPrecision(.bf16)
        let z = rounded(random([2, 3, 4, 4], seed: 48))
        let dz = rounded(random([2, 7, 4, 4], seed: 49))
        _ = concat.forward(z)
        let sum = concat.backward(dz)
        let references = branches()
        for reference in references { _ = reference.forward(z) }
        func channels(_ range: Range<Int>) -> Tensor {
            let slice = Tensor(shape: [2, range.count, 4, 4])
            for n in 0..<2 {
                for (index, c) in range.enumerated() {
                    let target = slice.pointer + (n * range.count + index) * 16
                    for p in 0..<16 { target[p] = dz.pointer[(n * 7 + c) * 16 + p] }
                }
            }
            return slice
        }
        // Summed in branch order in Float32, as Concat's backward adds them.
        let gradients = zip(references, [0..<2, 2..<5, 5..<7]).map { $0.backward(channels($1)).array }
        let unrounded = (0..<z.count).map { i in (gradients[0][i] + gradients[1][i]) + gradients[2][i] }
        assertBitwiseEqual(sum, Tensor(shape: z.shape, values: unrounded.map(BFloat16.round)),
                           "Concat's summed input gradient")
        XCTAssertTrue(unrounded.contains { $0 != BFloat16.round($0) },
                      "the unrounded sum holds non-bf16 values: the rounding is tested")
    }

    /// A bf16 convolution that a batch norm follows keeps its output as bf16 bits, half the bytes,
    /// and so does a batch norm that a convolution follows (through the ReLU it applies), and a
    /// residual block's sum that the next block reads; their readers read the bits. A chain and
    /// three residual blocks (projection, identity, stride-2 projection) train and evaluate bit for
    /// bit as with those tensors kept as Float32 values, on the emulated path and each bf16 path
    /// this CPU has (direct and bf16 GEMM convolutions), threads 1 and 3. In
    /// Float32 nothing changes.
    func testConvolutionsAndBatchNormsKeepBFloat16BitsBetweenThem() {
        var isas: [BFloat16ISA] = [.emulated]
        for isa in [BFloat16ISA.avx512bf16, .amx] where isa.missingFlag(on: .current) == nil && isa.isPermitted {
            isas.append(isa)
        }
        // On the bf16 hardware paths the 8-channel 56x56 layers run the Float32 direct kernel on bf16
        // values, the 40-channel ones the bf16 GEMM; the emulated path lowers all. (Winograd reading
        // bits: BFloat16OutputTests, which forces every kernel.)
        func makeBlock(stride: Int, projection: Bool) -> Residual {
            let conv1 = Conv2d(40, 40, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false)
            let conv2 = Conv2d(40, 40, kernelSize: 1, bias: false)
            let downsample = Conv2d(40, 40, kernelSize: 1, stride: Size2D(stride), bias: false)
            return Residual(
                main: [("conv1", conv1), ("bn1", BatchNorm2d(40)), ("relu", ReLU()), ("conv2", conv2),
                       ("bn2", BatchNorm2d(40))],
                shortcut: projection ? ("downsample", Sequential([("0", downsample), ("1", BatchNorm2d(40))])) : nil)
        }
        func network() -> (Sequential, [Conv2d]) {
            let stem = Conv2d(3, 8, kernelSize: 3, padding: 1)
            let direct = Conv2d(8, 8, kernelSize: 3, padding: 1, bias: false)
            let widening = Conv2d(8, 40, kernelSize: 3, padding: 1, bias: false)
            let conv1 = Conv2d(40, 40, kernelSize: 3, stride: 2, padding: 1, bias: false)
            let conv2 = Conv2d(40, 40, kernelSize: 1, bias: false)
            let projection = Conv2d(40, 40, kernelSize: 1, stride: 2, bias: false)
            let block = Residual(
                main: [("conv1", conv1), ("bn1", BatchNorm2d(40)), ("relu", ReLU()), ("conv2", conv2),
                       ("bn2", BatchNorm2d(40))],
                shortcut: ("downsample", Sequential([("0", projection), ("1", BatchNorm2d(40))])))
            let chain = Sequential([
                ("stem", stem), ("bn", BatchNorm2d(8)), ("relu", ReLU()), ("direct", direct),
                ("bn_direct", BatchNorm2d(8)), ("relu_direct", ReLU()), ("widening", widening),
                ("bn_widening", BatchNorm2d(40)), ("relu_widening", ReLU()), ("block", block),
                ("identity", makeBlock(stride: 1, projection: false)),
                ("projection", makeBlock(stride: 2, projection: true)),
            ])
            chain.initializeParameters(seed: 51)
            for (_, layer) in chain.namedLayers() {
                guard let norm = layer as? BatchNorm2d else { continue }
                for c in 0..<norm.numFeatures {
                    norm.weight.value[c] = 0.75 + 0.1 * Float(c % 5)
                    norm.bias.value[c] = 0.05 * Float(c % 7) - 0.1
                }
            }
            return (chain, [stem, direct, widening, conv1, conv2, projection])
        }
        let input = random([2, 3, 56, 56], seed: 52), gradOutput = random([2, 40, 14, 14], seed: 53)
        for isa in isas {
            BFloat16ISA.active = isa
            for threads in [1, 3] {
                let (bits, convolutions) = network(), (values, references) = network()
                XCTAssertTrue(convolutions.allSatisfy(\.outputFeedsBatchNorm))
                let named = bits.namedLayers()
                let norms = named.compactMap { $0.layer as? BatchNorm2d }
                func layerName(_ layer: Layer?) -> String? { named.first { $0.layer === layer }?.name }
                XCTAssertEqual(
                    norms.map { layerName($0.nextConvolution) },
                    ["direct", "widening", nil, "block.conv2", nil, nil, "identity.conv2", nil, "projection.conv2", nil,
                     nil],
                    "each batch norm names the convolution after it in its chain")
                XCTAssertEqual(norms.map(\.writesSumForNextBlock),
                               [false, false, false, false, true, false, false, true, false, false, false])
                let blocks = bits.namedLayers().compactMap { $0.layer as? Residual }
                XCTAssertEqual(blocks.map { $0.nextBlock.map(ObjectIdentifier.init) },
                               [ObjectIdentifier(blocks[1]), ObjectIdentifier(blocks[2]), nil])
                for conv in references { conv.outputFeedsBatchNorm = false }
                for (_, layer) in values.namedLayers() {
                    (layer as? BatchNorm2d)?.nextConvolution = nil
                    (layer as? Residual)?.nextBlock = nil
                }
                bits.setPrecision(.bf16)
                values.setPrecision(.bf16)
                let context = "\(isa), threads \(threads)"
                withThreads(threads) {
                    for training in [true, false] {
                        bits.setTraining(training)
                        values.setTraining(training)
                        let output = bits.forward(input), expected = values.forward(input)
                        assertBitwiseEqual(output, expected, "\(context) training \(training) output")
                        if isa != .emulated {
                            // At this thread count (the choice depends on it: two images).
                            XCTAssertEqual(
                                convolutions.map { $0.kernelNames?.forward.components(separatedBy: " (").first },
                                Array(repeating: threads == 1 ? "direct" : "im2col+bf16 GEMM", count: 3)
                                    + ["im2col+bf16 GEMM", "1x1 bf16 GEMM", "im2col+bf16 GEMM"], context)
                        }
                        guard training else { continue }
                        assertBitwiseEqual(bits.backward(gradOutput), values.backward(gradOutput),
                                           context + " input gradient")
                        for ((name, p), (_, q)) in zip(bits.namedParameters(), values.namedParameters()) {
                            XCTAssertEqual(p.gradient.array.map(\.bitPattern), q.gradient.array.map(\.bitPattern),
                                           "\(context) \(name) gradient")
                        }
                        for ((name, b), (_, c)) in zip(bits.namedBuffers(), values.namedBuffers()) {
                            XCTAssertEqual(b.array, c.array, "\(context) \(name)")
                        }
                    }
                }
                let stemOutput = convolutions[0].forward(input)
                XCTAssertEqual(stemOutput.element, .bfloat16, context)
                XCTAssertEqual(norms[0].forward(stemOutput).element, .bfloat16, context)
                XCTAssertEqual(norms[2].forward(random([2, 40, 56, 56], seed: 54)).element, .float32,
                               context + ": a batch norm before a residual block keeps Float32 values")
                XCTAssertEqual(references[0].forward(input).element, .float32, context)
                let blockInput = random([2, 40, 56, 56], seed: 55)
                XCTAssertEqual(blocks[0].forward(blockInput).element, .bfloat16,
                               context + ": a sum the next block reads")
                XCTAssertEqual(blocks[2].forward(random([2, 40, 28, 28], seed: 56)).element, .float32,
                               context + ": the last block's sum")
            }
        }
        let (chain, convolutions) = network()
        chain.setPrecision(.fp32)
        XCTAssertEqual(convolutions[0].forward(input).element, .float32, "Float32 keeps Float32 outputs")
    }

    func testLinearInBFloat16IsFloat32OnRoundedValues() {
        for threads in 1...4 {
            checkLayer("Linear 37→13", inputShape: [5, 37], threads: threads) { Linear(37, 13) }
            checkLayer("Linear 7→3 no bias", inputShape: [9, 7], threads: threads) { Linear(7, 3, bias: false) }
        }
    }

    func testFP32PathLeavesValuesUnrounded() {
        BFloat16ISA.active = .fp32
        let layer = Linear(3, 2), reference = Linear(3, 2)
        layer.precision = .bf16
        let weight = Tensor(shape: [2, 3], values: [1 + 0x1p-12, 0.3, -0.7, 0.1, 0.2, 0.3])
        layer.weight.value.copy(from: weight)
        reference.weight.value.copy(from: weight)
        layer.bias?.value.zero()
        reference.bias?.value.zero()
        let input = Tensor(shape: [1, 3], values: [1 + 0x1p-11, 2, 3])
        XCTAssertEqual(layer.forward(input).array, reference.forward(input).array)
    }

    /// Rounds to bf16 forward and backward: the casts autocast puts around a bf16 layer.
    private final class RoundToBFloat16: Layer {
        let kind = "RoundToBFloat16"
        var isTraining = true
        var needsInputGradient = true
        let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
        func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }
        func forward(_ input: Tensor) -> Tensor {
            output.reshape(input.shape)
            BFloat16Rounding.round(input.pointer, into: output.pointer, count: input.count)
            return output
        }
        func backward(_ gradOutput: Tensor) -> Tensor {
            gradInput.reshape(gradOutput.shape)
            BFloat16Rounding.round(gradOutput.pointer, into: gradInput.pointer, count: gradOutput.count)
            return gradInput
        }
    }

    /// A whole step (forward, loss, backward, SGD with momentum and weight decay) of a bf16
    /// network equals the Float32 network with casts around its conv and linear layers, whose
    /// weights are rounded copies of Float32 masters and whose rounded gradients update them.
    func testTrainingStepEqualsFloat32StepOnRoundedValues() throws {
        func network(_ precision: ComputePrecision, casts: Bool) -> (Sequential, [Parameter]) {
            let conv = Conv2d(2, 4, kernelSize: 3, padding: 1), fc = Linear(4 * 6 * 6, 5)
            conv.precision = precision
            fc.precision = precision
            func cast(_ layer: Layer) -> [Layer] { casts ? [RoundToBFloat16(), layer, RoundToBFloat16()] : [layer] }
            let layers = cast(conv) + [ReLU(), MaxPool2d(kernelSize: 2), Flatten()] + cast(fc)
            let sequential = Sequential(layers.enumerated().map { (name: "\($0.offset)", layer: $0.element) })
            return (sequential, [conv.weight, conv.bias!, fc.weight, fc.bias!])
        }
        let (bf16, bf16Parameters) = network(.bf16, casts: false)
        let (reference, referenceParameters) = network(.fp32, casts: true)
        let masters = bf16Parameters.map { Parameter(shape: $0.value.shape) }
        for (index, p) in bf16Parameters.enumerated() {
            let values = random(p.value.shape, seed: UInt64(10 + index))
            p.value.copy(from: values)
            masters[index].value.copy(from: values)
            referenceParameters[index].value.copy(from: rounded(values))
        }
        let input = random([6, 2, 12, 12], seed: 20), labels: [Int32] = [0, 1, 2, 3, 4, 0]
        let options = SGD.Options(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3)
        let named = { (parameters: [Parameter]) in
            parameters.enumerated().map { (name: "\($0.offset)", parameter: $0.element) }
        }

        let loss = SoftmaxCrossEntropy()
        let bf16Loss = loss.forward(logits: bf16.forward(input), labels: labels)
        _ = bf16.backward(loss.gradient)
        SGD(parameters: named(bf16Parameters), options: options).step()

        let referenceLoss = loss.forward(logits: reference.forward(input), labels: labels)
        _ = reference.backward(loss.gradient)
        for (master, p) in zip(masters, referenceParameters) {
            master.gradient.copy(from: rounded(p.gradient))
        }
        SGD(parameters: named(masters), options: options).step()

        XCTAssertEqual(bf16Loss, referenceLoss)
        for (index, (p, master)) in zip(bf16Parameters, masters).enumerated() {
            XCTAssertEqual(p.value.array.map(\.bitPattern), master.value.array.map(\.bitPattern), "parameter \(index)")
        }
    }

    func testSetPrecisionReachesNestedLayers() throws {
        let model = try ModelZoo.lenet5()
        model.setPrecision(.bf16)
        func all(_ layer: Layer) -> [Layer] { [layer] + layer.children.flatMap { all($0.layer) } }
        let layers = all(model.network).compactMap { $0 as? MixedPrecisionLayer }
        XCTAssertEqual(layers.count, 5)
        XCTAssertTrue(layers.allSatisfy { $0.precision == .bf16 })
    }
}
