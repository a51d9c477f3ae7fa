import TensorCore

/// 2-D convolution (cross-correlation, as PyTorch), weight [out, in/groups, kH, kW], bias [out].
/// forward: [N, in, H, W] → [N, out, oH, oW]
/// In bf16 (autocast) it convolves bf16 values of input, weight and bias with Float32 accumulation
/// and rounds what it returns: on the bf16 GEMM (AMX, AVX512-BF16), which rounds its operands as
/// it packs them, or with the Float32 kernels on rounded copies (exact bf16 arithmetic). Before a
/// batch norm it keeps that output as bf16 bits (`outputFeedsBatchNorm`).
public final class Conv2d: MixedPrecisionLayer {
    public let kind = "Conv2d"
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Size2D
    public let stride: Size2D
    public let padding: Size2D
    public let dilation: Size2D
    public let groups: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var isTraining = true
    public var needsInputGradient = true
    public var precision = ComputePrecision.fp32

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?
    private var geometry: ConvolutionGeometry?
    /// The rounded copies (internal for the tests, which check which ones a step made).
    lazy var bf16 = BFloat16Copies()
    /// Whether the last forward ran in bf16 (backward follows it).
    private var roundedForward = false
    /// The matrix product behind this layer's convolutions, fixed at forward for its backward:
    /// the bf16 GEMM where the CPU has AMX or AVX512-BF16 and the layer computes in bf16, else
    /// the Float32 kernels.
    private var product = MatrixProduct.float32
    /// Whether the last forward handed its operands to the bf16 GEMM unrounded (every pass on it,
    /// see `packingRounds`), fixed at forward so backward makes the same choice.
    private var operandsUnrounded = false
    /// Set by its chain when a BatchNorm2d comes next (`planBFloat16Storage`): in bf16 the
    /// output is then kept as bf16 bits, half the bytes, which the batch norm reads as such.
    public internal(set) var outputFeedsBatchNorm = false
    /// Set by the batch norm before it for the next forward only, which then reads that batch
    /// norm's input normalised piece by piece (`BatchNorm2d.normalizesWhereRead`).
    private var pendingNormalization: ChannelNormalization?
    /// The normalisation the last forward read its input through, for the weight gradient.
    private var inputNormalization: ChannelNormalization?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2D, stride: Size2D = 1,
                padding: Size2D = 0, dilation: Size2D = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) do not divide into \(groups) groups")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        weight = Parameter(shape: [outChannels, inChannels / groups, kernelSize.height, kernelSize.width])
        self.bias = bias ? Parameter(shape: [outChannels]) : nil
    }

    public var parameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func resetParameters(using random: RandomGenerator) {
        let fanIn = inChannels / groups * kernelSize.height * kernelSize.width
        DefaultInitialization.fanInUniform(weight: weight.value, bias: bias?.value, fanIn: fanIn, random: random)
    }

    func makeGeometry(_ shape: [Int]) throws -> ConvolutionGeometry {
        guard shape.count == 4 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a 4-D input [N, C, H, W], got \(shape)")
        }
        guard shape[1] == inChannels else {
            throw NNError.shapeMismatch(layer: kind, message: "expects \(inChannels) input channels, got \(shape[1])")
        }
        do {
            return try ConvolutionGeometry(
                batch: shape[0], inChannels: inChannels, inHeight: shape[2], inWidth: shape[3],
                outChannels: outChannels, kernelHeight: kernelSize.height, kernelWidth: kernelSize.width,
                strideHeight: stride.height, strideWidth: stride.width,
                padHeight: padding.height, padWidth: padding.width,
                dilationHeight: dilation.height, dilationWidth: dilation.width, groups: groups)
        } catch {
            throw NNError.shapeMismatch(layer: kind, message: "\(error)")
        }
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let g = try makeGeometry(inputShape)
        return [g.batch, outChannels, g.outHeight, g.outWidth]
    }

    /// out·oH·oW outputs, each a dot product over (in/groups)·kH·kW inputs.
    public func multiplyAccumulates(inputShape: [Int]) -> Int {
        guard let shape = try? outputShape(for: inputShape) else { return 0 }
        return shape.dropFirst().reduce(1, *) * (inChannels / groups) * kernelSize.height * kernelSize.width
    }

    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? {
        (Size2D(dilation.height * (kernelSize.height - 1) + 1, dilation.width * (kernelSize.width - 1) + 1), stride)
    }

    public func forward(_ input: Tensor) -> Tensor {
        let g: ConvolutionGeometry
        if let cached = geometry, cached.batch == input.shape[0], cached.inHeight == input.shape[2],
           cached.inWidth == input.shape[3], input.shape[1] == inChannels {
            g = cached
        } else {
            do { g = try makeGeometry(input.shape) } catch { preconditionFailure("\(error)") }
            geometry = g
        }
        let normalization = pendingNormalization
        pendingNormalization = nil
        inputNormalization = nil
        roundedForward = precision.roundsToBFloat16
        if let normalization {
            precondition(normalization.values == UnsafePointer(input.pointer) && !roundedForward,
                         "Conv2d: a normalisation was left for another input, or for a bf16 forward")
        }
        let keepsBits = roundedForward && outputFeedsBatchNorm
        output.reshape(g.batch, outChannels, g.outHeight, g.outWidth, element: keepsBits ? .bfloat16 : .float32)
        product = MatrixProduct.forPrecision(roundedForward ? .bf16 : .fp32)
        if roundedForward {
            if let bias { BFloat16Copies.round(bias.value, into: bf16.bias) }
            let roundedBias = bias == nil ? nil : UnsafePointer(bf16.bias.pointer)
            operandsUnrounded = Conv2d.packingRounds(g, product)
            if operandsUnrounded {
                // The bf16 GEMM rounds input and weight as it packs them, here and in backward: no
                // rounded copies, and the input is kept for backward as it came.
                self.input = input
                forwardRounded(g, input: input, weight: weight.value.pointer, bias: roundedBias)
                return output
            }
            // An input of bf16 bits (a batch norm's output), or of bf16 values already (another
            // convolution's output, through ReLU or max pooling), is used as it is: its rounded
            // copy would hold the same values.
            let roundedInput = input.element == .bfloat16
                ? input : BFloat16Copies.roundedOrItself(input, copy: bf16.input)
            BFloat16Copies.round(weight.value, into: bf16.weight)
            self.input = roundedInput
            forwardRounded(g, input: roundedInput, weight: bf16.weight.pointer, bias: roundedBias)
            return output
        }
        self.input = input
        if let normalization {
            inputNormalization = normalization
            Convolution.forward(g, input: .normalized(normalization), weight: weight.value.pointer,
                                bias: bias.map { UnsafePointer($0.value.pointer) }, output: output.pointer)
            return output
        }
        Convolution.forward(g, input: input.pointer, weight: weight.value.pointer,
                            bias: bias.map { UnsafePointer($0.value.pointer) }, output: output.pointer)
        return output
    }

    /// Whether this layer can read an input of `shape` as a batch norm's input, normalising it
    /// where its kernels read it (`ConvolutionInput.normalized`): in Float32, whatever its kernels.
    func normalizesInputWhereRead(shape: [Int]) -> Bool {
        !precision.roundsToBFloat16 && (try? makeGeometry(shape)) != nil
    }

    /// The next forward's input is a batch norm's input, to be normalised by `normalization`.
    func normalizeNextInput(_ normalization: ChannelNormalization) { pendingNormalization = normalization }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry, let input else { preconditionFailure("Conv2d.backward before forward") }
        if roundedForward { return backwardBFloat16(g, input: input, gradOutput: gradOutput) }
        let source = inputNormalization.map(ConvolutionInput.normalized) ?? .float32(input.pointer)
        LayerProfiler.weightGradient(self) {
            Convolution.backwardWeight(g, input: source, gradOutput: gradOutput.pointer,
                                       gradWeight: weight.gradient.pointer, gradBias: bias?.gradient.pointer)
        }
        gradInput.reshape(input.shape)
        if needsInputGradient {
            Convolution.backwardInput(g, gradOutput: gradOutput.pointer, weight: weight.value.pointer,
                                      gradInput: gradInput.pointer)
        }
        return gradInput
    }
}

extension Conv2d {
    /// Autocast's bf16 output into `output`: bf16 bits when it feeds a batch norm, else Float32
    /// values rounded to bf16.
    private func forwardRounded(_ g: ConvolutionGeometry, input: Tensor, weight: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>?) {
        let destination: ConvolutionOutput = output.element == .bfloat16
            ? .bfloat16Bits(output.bfloat16Bits) : .roundedToBFloat16(output.pointer)
        Convolution.forward(g, input: ConvolutionInput(input), weight: weight, bias: bias, output: destination,
                            product: product)
    }

    /// The geometry of the last forward pass (nil before the first): what `bench conv` times.
    public var lastGeometry: ConvolutionGeometry? { geometry }

    /// Autocast's backward: the bf16 output's gradient is bf16, the products accumulate in
    /// Float32, and the weight, bias and input gradients come back as bf16 values (the weight's
    /// bf16 copy receives them; its cast to Float32 is exact).
    ///
    /// Where the bf16 GEMM packs (and so rounds) every operand, the output gradient goes in as it
    /// came; a bias gradient sums the output gradient itself, so with a bias it is rounded first.
    private func backwardBFloat16(_ g: ConvolutionGeometry, input: Tensor, gradOutput: Tensor) -> Tensor {
        let packed = operandsUnrounded && bias == nil
        let dY = packed ? gradOutput.pointer : BFloat16Copies.roundedOrItself(gradOutput, copy: bf16.gradOutput).pointer
        let weights = operandsUnrounded ? weight.value.pointer : bf16.weight.pointer
        LayerProfiler.weightGradient(self) {
            Convolution.backwardWeight(g, input: ConvolutionInput(input), gradOutput: dY,
                                       gradWeight: weight.gradient.pointer, gradBias: bias?.gradient.pointer,
                                       product: product)
            BFloat16Copies.roundInPlace(weight.gradient)
            if let bias { BFloat16Copies.roundInPlace(bias.gradient) }
        }
        gradInput.reshape(input.shape)
        if needsInputGradient {
            Convolution.backwardInput(g, gradOutput: dY, weight: weights, gradInput: gradInput.pointer,
                                      product: product, roundsGradInput: true)
        }
        return gradInput
    }

    /// Whether all three passes of `g` run on the bf16 GEMM, whose packing rounds its operands.
    private static func packingRounds(_ g: ConvolutionGeometry, _ product: MatrixProduct) -> Bool {
        ConvolutionPass.allCases.allSatisfy { Convolution.packsRoundedOperands(g, $0, product) }
    }
}

extension Conv2d {
    /// The rounded copies a step always keeps: the bias's; where the bf16 GEMM does not round
    /// every operand as it packs it (a Float32 kernel, or the emulated path), the weights' too.
    /// The input's and the output gradient's copies are made only when those do not hold bf16
    /// values already (`BFloat16Copies.roundedOrItself`), which depends on the layers around
    /// this one (the network's input does not; after a convolution, a batch norm, ReLU or max
    /// pooling the input does, and the output gradient where pooling windows do not overlap),
    /// so a lower bound leaves them out.
    public func bfloat16CopyValues(inputShape: [Int]) -> Int {
        guard let g = try? makeGeometry(inputShape) else { return 0 }
        let biasValues = bias?.count ?? 0
        return Conv2d.packingRounds(g, MatrixProduct.forPrecision(.bf16)) ? biasValues : weight.count + biasValues
    }
}

extension Conv2d: KernelNaming {
    public var kernelNames: (forward: String, inputGradient: String, weightGradient: String)? {
        geometry.map { Convolution.kernelNames($0, product: product) }
    }
}
