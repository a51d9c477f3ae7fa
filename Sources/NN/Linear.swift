import TensorCore

/// Fully connected layer y = x·Wᵀ + b, weight [out, in], bias [out].
/// forward: [N, in] → [N, out]
/// In bf16 (autocast) its products run in `BFloat16GEMM` (operands rounded to bf16, Float32
/// accumulation) and what it returns is rounded to bf16.
public final class Linear: MixedPrecisionLayer {
    public let kind = "Linear"
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var isTraining = true
    public var needsInputGradient = true
    public var precision = ComputePrecision.fp32

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?
    private lazy var bf16 = BFloat16Copies()
    /// Whether the last forward ran in bf16 (backward follows it).
    private var roundedForward = false

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(shape: [outFeatures, inFeatures])
        self.bias = bias ? Parameter(shape: [outFeatures]) : nil
    }

    public var parameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func resetParameters(using random: RandomGenerator) {
        DefaultInitialization.fanInUniform(weight: weight.value, bias: bias?.value, fanIn: inFeatures, random: random)
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 2 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a 2-D input [N, features], got \(inputShape) (add a flatten layer)")
        }
        guard inputShape[1] == inFeatures else {
            throw NNError.shapeMismatch(layer: kind, message: "expects \(inFeatures) input features, got \(inputShape[1])")
        }
        return [inputShape[0], outFeatures]
    }

    public func multiplyAccumulates(inputShape: [Int]) -> Int { inFeatures * outFeatures }

    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inFeatures, "Linear(\(inFeatures)→\(outFeatures)) got \(input.shape)")
        let batch = input.shape[0]
        self.input = input
        output.reshape(batch, outFeatures)
        roundedForward = precision.roundsToBFloat16
        if roundedForward { return forwardBFloat16(input) }
        if let bias {
            // Start from the bias in every row, then accumulate x·Wᵀ with beta = 1.
            for n in 0..<batch { (output.pointer + n * outFeatures).update(from: bias.value.pointer, count: outFeatures) }
        }
        GEMM.multiply(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
                      a: input.pointer, lda: inFeatures, b: weight.value.pointer, ldb: inFeatures,
                      beta: bias == nil ? 0 : 1, c: output.pointer, ldc: outFeatures)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("Linear.backward before forward") }
        if roundedForward { return backwardBFloat16(input: input, gradOutput: gradOutput) }
        let batch = input.shape[0]
        // dW [out, in] = dYᵀ [out, N] · X [N, in]
        LayerProfiler.weightGradient(self) {
            GEMM.multiply(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
                          a: gradOutput.pointer, lda: outFeatures, b: input.pointer, ldb: inFeatures,
                          c: weight.gradient.pointer, ldc: inFeatures)
            if let bias {
                Reduction.columnSums(gradOutput.pointer, rows: batch, columns: outFeatures,
                                     into: bias.gradient.pointer)
            }
        }
        gradInput.reshape(input.shape)
        if needsInputGradient {
            // dX [N, in] = dY [N, out] · W [out, in]
            GEMM.multiply(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                          a: gradOutput.pointer, lda: outFeatures, b: weight.value.pointer, ldb: inFeatures,
                          c: gradInput.pointer, ldc: inFeatures)
        }
        return gradInput
    }
}

extension Linear {
    /// y = bf16(x·Wᵀ + b) with bf16 operands (the bias too, as autocast casts it) and Float32 sums.
    private func forwardBFloat16(_ input: Tensor) -> Tensor {
        let batch = input.shape[0]
        if let bias {
            BFloat16Copies.round(bias.value, into: bf16.bias)
            for n in 0..<batch {
                (output.pointer + n * outFeatures).update(from: bf16.bias.pointer, count: outFeatures)
            }
        }
        BFloat16GEMM.multiply(transposeA: false, transposeB: true, m: batch, n: outFeatures, k: inFeatures,
                              a: input.pointer, lda: inFeatures, b: weight.value.pointer, ldb: inFeatures,
                              beta: bias == nil ? 0 : 1, c: output.pointer, ldc: outFeatures, roundsResult: true)
        return output
    }

    /// Autocast's backward: bf16 output gradient, Float32 sums, bf16-valued parameter and input gradients.
    private func backwardBFloat16(input: Tensor, gradOutput: Tensor) -> Tensor {
        let batch = input.shape[0]
        BFloat16Copies.round(gradOutput, into: bf16.gradOutput)
        let dY = bf16.gradOutput.pointer
        LayerProfiler.weightGradient(self) {
            BFloat16GEMM.multiply(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: batch,
                                  a: dY, lda: outFeatures, b: input.pointer, ldb: inFeatures,
                                  c: weight.gradient.pointer, ldc: inFeatures, roundsResult: true)
            if let bias {
                Reduction.columnSums(dY, rows: batch, columns: outFeatures, into: bias.gradient.pointer)
                BFloat16Copies.roundInPlace(bias.gradient)
            }
        }
        gradInput.reshape(input.shape)
        if needsInputGradient {
            BFloat16GEMM.multiply(transposeA: false, transposeB: false, m: batch, n: inFeatures, k: outFeatures,
                                  a: dY, lda: outFeatures, b: weight.value.pointer, ldb: inFeatures,
                                  c: gradInput.pointer, ldc: inFeatures, roundsResult: true)
        }
        return gradInput
    }
}

extension Linear {
    /// Rounded copies: the bias and the output gradient, and on the emulated path the weights
    /// (the bf16 GEMM's scratch holds rounded copies of its operands there; on AMX or
    /// AVX512-BF16 it rounds them as it packs them).
    public func bfloat16CopyValues(inputShape: [Int]) -> Int {
        let weights = MatrixProduct.forPrecision(.bf16) == .float32 ? weight.count : 0
        return weights + (bias?.count ?? 0) + inputShape[0] * outFeatures
    }
}

extension Linear: KernelNaming {
    public var kernelNames: (forward: String, inputGradient: String, weightGradient: String)? {
        ("GEMM", "GEMM", "GEMM")
    }
}
