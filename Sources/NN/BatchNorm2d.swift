import TensorCore

/// Batch normalisation over (N, H, W) per channel (PyTorch BatchNorm2d, affine, tracking running stats).
/// forward: [N, C, H, W] → [N, C, H, W]
///
/// Training normalises with the batch's mean and biased variance and moves the running
/// statistics towards the batch's mean and unbiased variance by `momentum`; evaluation
/// normalises with the running statistics. With a single value per channel the variance is
/// 0 and enters the running variance unscaled (PyTorch refuses such a batch in training).
public final class BatchNorm2d: Layer {
    public let kind = "BatchNorm2d"
    public let numFeatures: Int
    public let eps: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Tensor
    public let runningVar: Tensor
    /// Training forwards so far, one element, stored as Float as in the safetensors files we write.
    public let numBatchesTracked = Tensor(shape: [])
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var input: Tensor?
    /// The mean and 1/√(var + eps) the last forward normalised with (batch or running statistics).
    private let savedMean: Tensor
    private let savedInverseStd: Tensor
    private var forwardUsedBatchStatistics = true

    public init(_ numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        precondition(numFeatures > 0, "BatchNorm2d: numFeatures must be positive, got \(numFeatures)")
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(shape: [numFeatures])
        bias = Parameter(shape: [numFeatures])
        runningMean = Tensor(shape: [numFeatures])
        runningVar = Tensor(shape: [numFeatures])
        savedMean = Tensor(shape: [numFeatures])
        savedInverseStd = Tensor(shape: [numFeatures])
        resetParameters(using: RandomGenerator(seed: 0))
    }

    public var parameters: [(name: String, parameter: Parameter)] { [("weight", weight), ("bias", bias)] }

    public var buffers: [(name: String, tensor: Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    /// PyTorch's reset_parameters: weight 1, bias 0, and fresh running statistics.
    public func resetParameters(using random: RandomGenerator) {
        weight.value.fill(1)
        bias.value.fill(0)
        runningMean.fill(0)
        runningVar.fill(1)
        numBatchesTracked.fill(0)
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a 4-D input [N, C, H, W], got \(inputShape)")
        }
        guard inputShape[1] == numFeatures else {
            throw NNError.shapeMismatch(layer: kind, message: "expects \(numFeatures) channels, got \(inputShape[1])")
        }
        return inputShape
    }

    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == numFeatures, "BatchNorm2d(\(numFeatures)) got \(input.shape)")
        self.input = input
        output.reshape(input.shape)
        let batch = input.shape[0], channels = numFeatures, plane = input.shape[2] * input.shape[3]
        let count = batch * plane
        let x = input.pointer, y = output.pointer
        let gamma = weight.value.pointer, beta = bias.value.pointer
        let mean = savedMean.pointer, inverseStd = savedInverseStd.pointer
        let runMean = runningMean.pointer, runVar = runningVar.pointer
        let training = isTraining, eps = eps, momentum = momentum
        forwardUsedBatchStatistics = training
        Parallel.forEach(channels) { c in
            if training {
                var sum = 0.0
                for n in 0..<batch { sum += Double(planeSum(x + (n * channels + c) * plane, plane)) }
                let batchMean = count > 0 ? sum / Double(count) : 0
                var squares = 0.0
                for n in 0..<batch {
                    squares += Double(planeSquaredDeviations(x + (n * channels + c) * plane, plane, Float(batchMean)))
                }
                let biasedVariance = count > 0 ? squares / Double(count) : 0
                let unbiasedVariance = count > 1 ? squares / Double(count - 1) : biasedVariance
                mean[c] = Float(batchMean)
                inverseStd[c] = Float(1 / (biasedVariance + Double(eps)).squareRoot())
                runMean[c] = (1 - momentum) * runMean[c] + momentum * Float(batchMean)
                runVar[c] = (1 - momentum) * runVar[c] + momentum * Float(unbiasedVariance)
            } else {
                mean[c] = runMean[c]
                inverseStd[c] = 1 / (runVar[c] + eps).squareRoot()
            }
            let scale = gamma[c] * inverseStd[c], shift = beta[c] - mean[c] * scale
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                for i in 0..<plane { y[offset + i] = x[offset + i] * scale + shift }
            }
        }
        if training { numBatchesTracked[0] += 1 }
        return output
    }

    /// With x̂ = (x − mean)·invStd and M = N·H·W values per channel:
    /// dγ = Σ dy·x̂, dβ = Σ dy; training: dx = γ·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M); evaluation: dx = γ·invStd·dy.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("BatchNorm2d.backward before forward") }
        gradInput.reshape(input.shape)
        let batch = input.shape[0], channels = numFeatures, plane = input.shape[2] * input.shape[3]
        let count = Float(batch * plane)
        let x = input.pointer, dy = gradOutput.pointer, dx = gradInput.pointer
        let gamma = weight.value.pointer, gradGamma = weight.gradient.pointer, gradBeta = bias.gradient.pointer
        let mean = savedMean.pointer, inverseStd = savedInverseStd.pointer
        let throughBatchStatistics = forwardUsedBatchStatistics, needsInputGradient = needsInputGradient
        Parallel.forEach(channels) { c in
            var sumDy = 0.0, sumDyCentred = 0.0
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                sumDy += Double(planeSum(dy + offset, plane))
                sumDyCentred += Double(planeCentredDot(dy + offset, x + offset, plane, mean[c]))
            }
            let sumDyNormalized = Float(sumDyCentred) * inverseStd[c]
            gradGamma[c] = sumDyNormalized
            gradBeta[c] = Float(sumDy)
            guard needsInputGradient else { return }
            let scale = gamma[c] * inverseStd[c]
            let meanDy = throughBatchStatistics ? Float(sumDy) / count : 0
            let centredFactor = throughBatchStatistics ? sumDyNormalized / count * inverseStd[c] : 0
            let mu = mean[c]
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                for i in 0..<plane {
                    dx[offset + i] = scale * (dy[offset + i] - meanDy - (x[offset + i] - mu) * centredFactor)
                }
            }
        }
        return gradInput
    }
}

/// Σ x[i], eight lanes at a time.
@inline(__always)
func planeSum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count { total += x[i]; i += 1 }
    return total
}

/// Σ (x[i] − mean)², eight lanes at a time.
@inline(__always)
func planeSquaredDeviations(_ x: UnsafePointer<Float>, _ count: Int, _ mean: Float) -> Float {
    planeCentredDot(x, x, count, mean, centreBoth: true)
}

/// Σ a[i]·(b[i] − mean), or Σ (a[i] − mean)·(b[i] − mean) with `centreBoth`, eight lanes at a time.
@inline(__always)
func planeCentredDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int, _ mean: Float,
                     centreBoth: Bool = false) -> Float {
    let shiftA = centreBoth ? mean : 0
    let meanLanes = SIMD8<Float>(repeating: mean), shiftLanes = SIMD8<Float>(repeating: shiftA)
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) - shiftLanes
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self) - meanLanes
        lanes += va * vb
        i += 8
    }
    var total = lanes.sum()
    while i < count { total += (a[i] - shiftA) * (b[i] - mean); i += 1 }
    return total
}
