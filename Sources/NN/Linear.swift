import TensorCore

/// Fully connected layer y = x·Wᵀ + b, weight [out, in], bias [out].
/// forward: [N, in] → [N, out]
public final class Linear: Layer {
    public let kind = "Linear"
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?

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

extension Linear: KernelNaming {
    public var kernelNames: (forward: String, inputGradient: String, weightGradient: String)? {
        ("GEMM", "GEMM", "GEMM")
    }
}
