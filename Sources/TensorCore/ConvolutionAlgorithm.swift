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
        let chosen = choice(g, pass)
        return [chosen] + ConvolutionAlgorithm.allCases.filter { $0 != chosen && applies($0, g, pass) }
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
    /// 4x4", "1x1 GEMM" (a pointwise convolution multiplies the image itself) or "im2col+GEMM".
    public static func name(_ algorithm: ConvolutionAlgorithm, _ g: ConvolutionGeometry) -> String {
        switch algorithm {
        case .direct: return "direct"
        case .winograd: return "Winograd"
        case .winograd4x4: return "Winograd 4x4"
        case .gemm: return isPointwise(g) ? "1x1 GEMM" : "im2col+GEMM"
        }
    }

    /// The kernel each pass runs for `g` (what the profile reports); a bf16 product runs all
    /// three lowered on the bf16 GEMM ("im2col+bf16 GEMM (amx)").
    public static func kernelNames(_ g: ConvolutionGeometry, product: MatrixProduct = .float32)
        -> (forward: String, inputGradient: String, weightGradient: String)
    {
        guard case .bfloat16(let isa) = product else {
            return (name(choice(g, .forward), g), name(choice(g, .inputGradient), g),
                    name(choice(g, .weightGradient), g))
        }
        let label = (isPointwise(g) ? "1x1 bf16 GEMM" : "im2col+bf16 GEMM") + " (\(isa))"
        return (label, label, label)
    }

    /// `algorithm`, or the choice when nil; a forced algorithm that cannot run `pass` is a
    /// programming error. A bf16 product always runs lowered (the direct and Winograd kernels
    /// are Float32).
    static func resolve(_ algorithm: ConvolutionAlgorithm?, _ g: ConvolutionGeometry,
                        _ pass: ConvolutionPass, _ product: MatrixProduct = .float32) -> ConvolutionAlgorithm {
        guard product.allowsDirect else {
            precondition((algorithm ?? .gemm) == .gemm, "Convolution: only im2col+GEMM has a \(product) path")
            return .gemm
        }
        guard let algorithm else { return choice(g, pass) }
        precondition(applies(algorithm, g, pass), "Convolution: \(algorithm) cannot run \(pass) of \(g)")
        return algorithm
    }
}
