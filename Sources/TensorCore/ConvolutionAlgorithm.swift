// Which algorithm each pass of a convolution runs, chosen per geometry.
//
// Every algorithm listed by `candidates` computes the same convolution (tests force each one
// against the naive reference); `choice` picks the fastest by rules measured with
// `cnn-dist bench conv`, which times every candidate for a model's geometries and marks
// where the rule's pick is not the fastest. The rule is fixed, not timed at start-up, so a
// run and its resume (and every rank) run the same kernels and get the same bits.

/// An algorithm for one pass of a convolution.
public enum ConvolutionAlgorithm: String, CaseIterable, Sendable {
    /// The register kernel reads the zero-padded image itself (`DirectConvolution`).
    case direct
    /// The image is lowered to a column matrix (im2col), multiplied by the blocked SGEMM; a
    /// 1x1 stride-1 unpadded convolution multiplies the image itself.
    case gemm
    /// Winograd with 2x2 output tiles: F(2x2, 3x3) for every pass of 3x3 stride-1
    /// convolutions, 2.25× fewer multiplies (`WinogradConvolution`,
    /// `WinogradWeightGradient.swift`); F(2x2, 5x5) for the forward pass and input gradient of
    /// 5x5 ones, 2.78× fewer (`WinogradF2x5.swift`).
    case winograd
    /// Winograd F(4x4, 3x3), 4x4 output tiles: every pass of 3x3 stride-1 convolutions, 4×
    /// fewer multiplies (`WinogradF4x3.swift`, the weight gradient in
    /// `WinogradWeightGradient.swift`).
    case winograd4x4
}

/// The three passes of a convolution in training.
public enum ConvolutionPass: String, CaseIterable, Sendable {
    case forward
    /// ∂loss/∂input (dX).
    case inputGradient
    /// ∂loss/∂weight and ∂loss/∂bias (dW).
    case weightGradient
}

extension Convolution {
    /// The algorithms that can run `pass` for `g`, the chosen one first.
    public static func candidates(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> [ConvolutionAlgorithm] {
        candidates(g, pass, product: .float32)
    }

    /// Whether `algorithm` can run `pass` for `g` (im2col+GEMM runs everything).
    static func applies(_ algorithm: ConvolutionAlgorithm, _ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        switch algorithm {
        case .gemm: return true
        case .direct: return DirectConvolution.applies(g, pass)
        case .winograd: return WinogradConvolution.applies(g, pass)
        case .winograd4x4: return WinogradConvolution.appliesLargeTiles(g, pass)
        }
    }

    /// Every pass on im2col+GEMM, whose sums are plain dot products: the reference path for
    /// checking that the faster kernels (Winograd's transforms round differently) train the
    /// same. Set it before training, not during a step.
    nonisolated(unsafe) public static var loweredOnly = false

    /// The algorithm `pass` runs for `g` unless a caller forces another.
    public static func choice(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> ConvolutionAlgorithm {
        if loweredOnly { return .gemm }
        if WinogradConvolution.appliesLargeTiles(g, pass) && WinogradConvolution.prefersLargeTiles(g, pass) {
            return .winograd4x4
        }
        if WinogradConvolution.applies(g, pass) && WinogradConvolution.prefers(g, pass) { return .winograd }
        return DirectConvolution.applies(g, pass) && DirectConvolution.prefers(g, pass) ? .direct : .gemm
    }

    /// What the profile calls `algorithm` for `g`: "direct", "Winograd" (2x2 tiles), "Winograd
    /// 4x4", "1x1 GEMM" (a pointwise convolution multiplies the image itself), "batch GEMM" (a
    /// kernel covering the whole input: the batch's images are the product's rows) or
    /// "im2col+GEMM".
    public static func name(_ algorithm: ConvolutionAlgorithm, _ g: ConvolutionGeometry) -> String {
        switch algorithm {
        case .direct: return "direct"
        case .winograd: return "Winograd"
        case .winograd4x4: return "Winograd 4x4"
        case .gemm: return isPointwise(g) ? "1x1 GEMM" : isFullyConnected(g) ? "batch GEMM" : "im2col+GEMM"
        }
    }

    /// What `algorithm` is called with `product`: as `name(_:_:)` for Float32; with a bf16
    /// product, "im2col+bf16 GEMM (amx)" for the bf16 GEMM, or a Float32 kernel on the bf16
    /// operands ("Winograd 4x4 (bf16 operands)"); the emulated product runs lowered on the
    /// Float32 GEMM ("im2col+GEMM (emulated)").
    public static func name(_ algorithm: ConvolutionAlgorithm, _ g: ConvolutionGeometry,
                            product: MatrixProduct) -> String {
        guard case .bfloat16(let isa) = product else { return name(algorithm, g) }
        guard BFloat16GEMM.PanelKernel(isa) != nil else { return name(.gemm, g) + " (\(isa))" }
        if algorithm != .gemm { return name(algorithm, g) + " (bf16 operands)" }
        let kind = isPointwise(g) ? "1x1 bf16 GEMM" : isFullyConnected(g) ? "batch bf16 GEMM" : "im2col+bf16 GEMM"
        return kind + " (\(isa))"
    }

    /// The kernel each pass runs for `g` with `product` (what the profile reports).
    public static func kernelNames(_ g: ConvolutionGeometry, product: MatrixProduct = .float32)
        -> (forward: String, inputGradient: String, weightGradient: String)
    {
        func label(_ pass: ConvolutionPass) -> String { name(choice(g, pass, product: product), g, product: product) }
        return (label(.forward), label(.inputGradient), label(.weightGradient))
    }

    /// The algorithm `pass` runs for `g` with `product` unless a caller forces another:
    /// `choice(_:_:)` for Float32, `bfloat16Choice` for the bf16 GEMM's paths, the lowered
    /// path for the emulated product.
    public static func choice(_ g: ConvolutionGeometry, _ pass: ConvolutionPass,
                              product: MatrixProduct) -> ConvolutionAlgorithm {
        resolve(nil, g, pass, product)
    }

    /// The algorithms that can run `pass` for `g` with `product`, the chosen one first: with a
    /// bf16 product on AMX or AVX512-BF16 the bf16 GEMM and the Float32 kernels on bf16
    /// operands, with the emulated product the lowered path only.
    public static func candidates(_ g: ConvolutionGeometry, _ pass: ConvolutionPass,
                                  product: MatrixProduct) -> [ConvolutionAlgorithm] {
        if case .bfloat16(let isa) = product, BFloat16GEMM.PanelKernel(isa) == nil { return [.gemm] }
        let chosen = choice(g, pass, product: product)
        return [chosen] + ConvolutionAlgorithm.allCases.filter { $0 != chosen && applies($0, g, pass) }
    }

    /// Whether a bf16 layer's 3x3 passes (where Float32 picks F(4x4, 3x3)) run Float32 Winograd
    /// F(4x4, 3x3) on their bf16 operands rather than the bf16 GEMM: its 4× fewer multiplies beat
    /// VDPBF16PS's 2× faster ones where its transforms are cheap per multiply (many channels) or
    /// where im2col's column matrix outgrows the caches (large images). `bench conv --precision
    /// bf16` on Zen 5 (AVX512-BF16), ms for all three passes, Winograd 4x4 vs bf16 GEMM:
    /// - 112x112 and up, any channels: VGG-16 b8 64→64 at 224x224 201 vs 269, 64→128 at 112x112
    ///   85 vs 87, 128→128 at 112x112 132 vs 178;
    /// - 56x56 with 128 channels or more on both sides: VGG-16 128→256 57 vs 64, 256→256 101 vs 130;
    ///   with 64 the GEMM wins: ResNet-50 b16 64→64 26 vs 20, ResNet-18 b32 53 vs 40,
    ///   GoogLeNet b16 64→192 61 vs 48;
    /// - 28x28 with 256 or more: VGG-16 256→512 55 vs 58, 512→512 96 vs 117; with 128 a tie
    ///   (ResNet-50 16.3 vs 16.0, ResNet-18 32.8 vs 31.8), which the GEMM takes: in training it
    ///   reads its bf16 input bits directly, Winograd through a Float32 staging copy;
    /// - smaller images: the GEMM or a tie (VGG-16 512→512 at 14x14 39 vs 36).
    static func bfloat16PrefersWinograd(_ g: ConvolutionGeometry) -> Bool {
        let pixels = g.outHeight * g.outWidth, channels = Swift.min(g.inChannels, g.outChannels)
        return pixels >= 112 * 112 || (pixels >= 56 * 56 && channels >= 128) || (pixels >= 28 * 28 && channels >= 256)
    }

    /// The algorithm a bf16 layer's `pass` runs on AMX or AVX512-BF16: the bf16 GEMM, except
    /// Winograd F(4x4, 3x3) on large images or wide layers (above) and the direct kernel, where the Float32
    /// choice is direct, for fewer than 32 channels on either side: the bf16 GEMM's 32-row and
    /// 32-deep panels would multiply padding (a first layer's 3 channels; ResNet-20's 16-channel
    /// layers ran 12.7 ms a step on the bf16 GEMM against 5.1 ms direct, Zen 5, batch 128).
    static func bfloat16Choice(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> ConvolutionAlgorithm {
        if loweredOnly { return .gemm }
        let floatChoice = choice(g, pass)
        switch floatChoice {
        case .winograd4x4 where bfloat16PrefersWinograd(g): return floatChoice
        case .direct where Swift.min(g.inChannelsPerGroup, g.outChannelsPerGroup) < BFloat16GEMM.panel:
            return floatChoice
        default: return .gemm
        }
    }

    /// `algorithm`, or the choice when nil; a forced algorithm that cannot run `pass` is a
    /// programming error. With a bf16 product on AMX or AVX512-BF16, `.gemm` runs the bf16 GEMM
    /// and the others are the Float32 kernels, for operands the caller has rounded to bf16; the
    /// emulated product runs lowered only.
    static func resolve(_ algorithm: ConvolutionAlgorithm?, _ g: ConvolutionGeometry,
                        _ pass: ConvolutionPass, _ product: MatrixProduct = .float32) -> ConvolutionAlgorithm {
        if case .bfloat16(let isa) = product {
            guard BFloat16GEMM.PanelKernel(isa) != nil else {
                // The emulated product exists only lowered (it rounds copies for the Float32 GEMM).
                precondition((algorithm ?? .gemm) == .gemm, "Convolution: only im2col+GEMM has a \(product) path")
                return .gemm
            }
            if algorithm == nil { return bfloat16Choice(g, pass) }
        }
        guard let algorithm else { return choice(g, pass) }
        precondition(applies(algorithm, g, pass), "Convolution: \(algorithm) cannot run \(pass) of \(g)")
        return algorithm
    }

    /// Whether `pass` of `g` runs on the bf16 GEMM (AMX or AVX512-BF16), which rounds every
    /// Float32 operand to bf16 as it packs it (and packs bits as they are): such a pass needs no
    /// rounded copies of its operands.
    public static func packsRoundedOperands(_ g: ConvolutionGeometry, _ pass: ConvolutionPass,
                                            _ product: MatrixProduct) -> Bool {
        guard case .bfloat16(let isa) = product, BFloat16GEMM.PanelKernel(isa) != nil else { return false }
        return resolve(nil, g, pass, product) == .gemm
    }
}
