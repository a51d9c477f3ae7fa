import TensorCore

/// Batch normalisation over (N, H, W) per channel (PyTorch BatchNorm2d, affine, tracking running stats).
/// forward: [N, C, H, W] → [N, C, H, W]
///
/// Training normalises with the batch's mean and biased variance and moves the running
/// statistics towards the batch's mean and unbiased variance by `momentum`; evaluation
/// normalises with the running statistics. With a single value per channel the variance is
/// 0 and enters the running variance unscaled (PyTorch refuses such a batch in training).
///
/// In Float32, when the next layer of its chain (through the ReLU it applies) is a Conv2d, its only
/// reader (`nextConvolution`), it writes no output: `forward` returns its input, and that
/// convolution's next forward normalises it as it reads it (`normalizesWhereRead`).
///
/// In bf16 (autocast) it computes in Float32 as before and returns its output and input gradient
/// rounded to bf16: autocast runs batch norm in its input's type, a convolution's bf16 output,
/// with Float32 statistics and parameters (PyTorch's mixed-type CPU batch norm).
public final class BatchNorm2d: MixedPrecisionLayer {
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
    public var precision = ComputePrecision.fp32
    /// Whether the last forward rounded its output (backward rounds the input gradient then).
    private var roundedForward = false

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?
    /// The mean and 1/√(var + eps) the last forward normalised with (batch or running statistics).
    private let savedMean: Tensor
    private let savedInverseStd: Tensor
    private var forwardUsedBatchStatistics = true
    /// Applies the ReLU that follows it in a chain: y = max(normalised, 0) in the output pass,
    /// and backward passes the gradient only where y > 0 (what ReLU's backward does), in the
    /// same passes. Set by `Sequential` with the ReLU's `passesThrough`.
    public internal(set) var appliesReLU = false
    /// Set by `Residual` for the next forward only, which then writes max(normalised + this, 0):
    /// the block's shortcut sum and ReLU (torchvision's `out += identity; out = relu(out)`) in
    /// the output pass, instead of a pass of their own that reads and writes the output again.
    /// Backward is unchanged: the block masks the gradient by its output before passing it here.
    var addsShortcutThenReLU: Tensor?
    /// Set by `Residual` with `addsShortcutThenReLU`: keep that sum as bf16 bits, for the next
    /// block, which reads them (`Residual.readsBFloat16Input`).
    var keepsSumAsBits = false
    /// Whether this layer writes a block's sum that the next block in the chain reads (set with
    /// `Residual.nextBlock`): the memory bound counts it at bf16's size.
    public internal(set) var writesSumForNextBlock = false
    /// Whether the last forward added a shortcut (the profile says so).
    public private(set) var addedShortcut = false
    /// The convolution that reads this layer's output (through the ReLU it applies), set by its
    /// chain (`planBFloat16Storage`). When both compute in bf16 the output is kept as bf16
    /// bits, half the bytes; that convolution is its only reader, forward and backward.
    public internal(set) weak var nextConvolution: Conv2d?
    /// Whether, in Float32, this layer leaves its output unwritten when `nextConvolution` is its
    /// reader: that convolution normalises its input as its kernels read it (`ChannelNormalization`:
    /// image by image as it lowers, row by row in the direct kernel, in Winograd's input
    /// transform), forward and for its weight gradient. That saves the output pass's write of the
    /// whole activation, and its memory. The values are bit for bit the same; false writes the
    /// output (tests compare the two).
    public var normalizesWhereRead = true
    /// Whether the last forward left its output to `nextConvolution` (the profile says so).
    public private(set) var leftOutputToReader = false
    /// Per channel, the map y = x·scale + shift the last forward applied, for that convolution.
    private let scale: Tensor
    private let shift: Tensor

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
        scale = Tensor(shape: [numFeatures])
        shift = Tensor(shape: [numFeatures])
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
        let batch = input.shape[0], channels = numFeatures, plane = input.shape[2] * input.shape[3]
        let gamma = weight.value.pointer, beta = bias.value.pointer
        let mean = savedMean.pointer, inverseStd = savedInverseStd.pointer
        let runMean = runningMean.pointer, runVar = runningVar.pointer
        let training = isTraining
        forwardUsedBatchStatistics = training
        roundedForward = precision.roundsToBFloat16
        let shortcut = addsShortcutThenReLU, sumAsBits = keepsSumAsBits
        addsShortcutThenReLU = nil
        keepsSumAsBits = false
        addedShortcut = shortcut != nil
        if let shortcut {
            precondition(shortcut.shape == input.shape,
                         "BatchNorm2d: shortcut \(shortcut.shape) for input \(input.shape)")
            precondition(!appliesReLU, "BatchNorm2d: a shortcut sum where the ReLU after it is already applied")
        }
        let keepsBits = roundedForward
            && (shortcut == nil ? nextConvolution?.precision.roundsToBFloat16 == true : sumAsBits)
        let reader = shortcut == nil && input.element == .float32 && leavesOutputToReader(inputShape: input.shape)
            ? nextConvolution : nil
        leftOutputToReader = reader != nil
        if reader == nil { output.reshape(input.shape, element: keepsBits ? .bfloat16 : .float32) }
        Parallel.forEachRange(channels, BatchNormForward(
            x: StoredInput(input), y: reader == nil ? NormalizedOutput(output) : nil, gamma: gamma, beta: beta,
            mean: mean, inverseStd: inverseStd, scale: scale.pointer, shift: shift.pointer,
            runMean: runMean, runVar: runVar, batch: batch, channels: channels, plane: plane,
            training: training,
            eps: eps, momentum: momentum, appliesReLU: appliesReLU,
            shortcut: shortcut.map(StoredInput.init), roundsOutput: roundedForward))
        if training { numBatchesTracked[0] += 1 }
        guard let reader else { return output }
        // The output is the input as the reader will see it: it checks that it gets this tensor.
        reader.normalizeNextInput(ChannelNormalization(
            values: input.pointer, scale: scale.pointer, shift: shift.pointer, channels: channels, plane: plane,
            appliesReLU: appliesReLU))
        return input
    }

    /// With x̂ = (x − mean)·invStd and M = N·H·W values per channel:
    /// dγ = Σ dy·x̂, dβ = Σ dy; training: dx = γ·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M); evaluation: dx = γ·invStd·dy.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let input else { preconditionFailure("BatchNorm2d.backward before forward") }
        gradInput.reshape(input.shape)
        let batch = input.shape[0], channels = numFeatures, plane = input.shape[2] * input.shape[3]
        let count = Float(batch * plane)
        let dy = gradOutput.pointer, dx = gradInput.pointer
        let gamma = weight.value.pointer, gradGamma = weight.gradient.pointer, gradBeta = bias.gradient.pointer
        let mean = savedMean.pointer, inverseStd = savedInverseStd.pointer
        Parallel.forEachRange(channels, BatchNormBackward(
            x: StoredInput(input), dy: dy, masksByReLU: appliesReLU, dx: dx, gamma: gamma, beta: bias.value.pointer,
            gradGamma: gradGamma, gradBeta: gradBeta, mean: mean,
            inverseStd: inverseStd, batch: batch, channels: channels, plane: plane, count: count,
            throughBatchStatistics: forwardUsedBatchStatistics, needsInputGradient: needsInputGradient,
            roundsGradInput: roundedForward))
        return gradInput
    }

    /// Whether a forward on `inputShape` leaves its output to `nextConvolution`, which reads it
    /// normalised (`normalizesWhereRead`): both compute in Float32.
    public func leavesOutputToReader(inputShape: [Int]) -> Bool {
        !precision.roundsToBFloat16 && normalizesWhereRead
            && nextConvolution?.normalizesInputWhereRead(shape: inputShape) == true
    }

    /// A batch norm keeps no rounded copies.
    public func bfloat16CopyValues(inputShape: [Int]) -> Int { 0 }
}

/// A batch norm's input: Float32 values, or bf16 bits (a bf16 convolution's output kept at its
/// own size). The loop bodies below are not generic, so the worker pool calls specialised code;
/// each branches on this once per range into a loop generic over `StoredValues`.
private enum StoredInput {
    case float32(Float32Values), bfloat16(BFloat16Values)

    init(_ tensor: Tensor) {
        self = tensor.element == .bfloat16
            ? .bfloat16(BFloat16Values(tensor.bfloat16Bits)) : .float32(Float32Values(tensor.pointer))
    }
}

/// Where a batch norm writes: Float32 values, or bf16 bits (rounded values' top halves) for a
/// bf16 convolution after it.
private enum NormalizedOutput {
    case float32(Float32Destination), bfloat16(BFloat16Destination)

    init(_ tensor: Tensor) {
        self = tensor.element == .bfloat16
            ? .bfloat16(BFloat16Destination(tensor.bfloat16Bits)) : .float32(Float32Destination(tensor.pointer))
    }
}

/// Per channel: batch statistics (training) or running ones, then y = x·scale + shift.
private struct BatchNormForward: ParallelBody {
    /// y nil: statistics, scale and shift only, the output left to the convolution that reads it.
    let x: StoredInput, y: NormalizedOutput?
    let gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>
    let mean: UnsafeMutablePointer<Float>, inverseStd: UnsafeMutablePointer<Float>
    let scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>
    let runMean: UnsafeMutablePointer<Float>, runVar: UnsafeMutablePointer<Float>
    let batch: Int, channels: Int, plane: Int
    let training: Bool, eps: Float, momentum: Float, appliesReLU: Bool
    /// Added before a ReLU (`BatchNorm2d.addsShortcutThenReLU`): Float32 values, or the previous
    /// block's sum as bf16 bits.
    let shortcut: StoredInput?
    /// bf16 (autocast): the normalised value rounded, then (with a shortcut) the rounded sum, as
    /// autocast's bf16 batch norm and bf16 `out += identity` give them; ReLU keeps bf16 values.
    let roundsOutput: Bool

    func run(_ range: Range<Int>) {
        switch (x, y) {
        case (.float32(let values), .float32(let destination)): run(range, values, destination)
        case (.float32(let values), .bfloat16(let destination)): run(range, values, destination)
        case (.bfloat16(let values), .float32(let destination)): run(range, values, destination)
        case (.bfloat16(let values), .bfloat16(let destination)): run(range, values, destination)
        case (.float32(let values), nil): run(range, values, nil as Float32Destination?)
        case (.bfloat16(let values), nil): run(range, values, nil as Float32Destination?)
        }
    }

    private func run<X: StoredValues, Y: ValueDestination>(_ range: Range<Int>, _ x: X, _ y: Y?) {
        precondition(roundsOutput || Y.self == Float32Destination.self, "BatchNorm2d: bf16 bits of unrounded values")
        let count = batch * plane
        for c in range {
            if training {
                var sum = 0.0
                for n in 0..<batch {
                    let offset = (n * channels + c) * plane
                    if c + 1 < range.upperBound { x.prefetch(offset + plane, count: plane) }
                    sum += Double(planeSum(x, offset, plane))
                }
                let batchMean = count > 0 ? sum / Double(count) : 0
                var squares = 0.0
                for n in 0..<batch {
                    squares += Double(planeSquaredDeviations(x, (n * channels + c) * plane, plane, Float(batchMean)))
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
            self.scale[c] = scale
            self.shift[c] = shift
            guard let y else { continue }
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                if roundsOutput {
                    writePlane(x, y, offset, scale, shift, RoundedToBFloat16())
                } else {
                    writePlane(x, y, offset, scale, shift, Unrounded())
                }
            }
        }
    }

    /// y = x·scale + shift over one plane, with the shortcut sum and ReLU or the ReLU, each
    /// result rounded by `rounding`.
    @inline(__always)
    private func writePlane<X: StoredValues, Y: ValueDestination, Rounding: OutputRounding>(
        _ x: X, _ y: Y, _ offset: Int, _ scale: Float, _ shift: Float, _ rounding: Rounding
    ) {
        if let shortcut {
            switch shortcut {
            case .float32(let values): writePlaneAddingShortcut(x, y, values, offset, scale, shift, rounding)
            case .bfloat16(let values): writePlaneAddingShortcut(x, y, values, offset, scale, shift, rounding)
            }
        } else if appliesReLU {
            // As Elementwise.relu: v where v > 0, else 0 (rounding keeps the sign).
            for i in 0..<plane {
                let v = x.load(offset + i) * scale + shift
                y.store(rounding.apply(v > 0 ? v : 0), at: offset + i)
            }
        } else {
            for i in 0..<plane { y.store(rounding.apply(x.load(offset + i) * scale + shift), at: offset + i) }
        }
    }

    /// As Elementwise.addRelu on the normalised value: the same two roundings (in bf16 the
    /// normalised value rounded first, as autocast's batch norm returns it), then v where v > 0,
    /// else 0.
    @inline(__always)
    private func writePlaneAddingShortcut<
        X: StoredValues, Y: ValueDestination, S: StoredValues, Rounding: OutputRounding
    >(_ x: X, _ y: Y, _ shortcut: S, _ offset: Int, _ scale: Float, _ shift: Float, _ rounding: Rounding) {
        for i in 0..<plane {
            let v = rounding.apply(x.load(offset + i) * scale + shift) + shortcut.load(offset + i)
            y.store(rounding.apply(v > 0 ? v : 0), at: offset + i)
        }
    }
}

/// Per channel: dγ, dβ and (when needed) dx; see `BatchNorm2d.backward`.
private struct BatchNormBackward: ParallelBody {
    let x: StoredInput, dy: UnsafePointer<Float>
    /// With a ReLU applied, the gradient counts only where the output was > 0: where
    /// x·scale + shift > 0, recomputed from x as the forward pass computed it (`PositiveNormalized`),
    /// so these passes read two arrays, not three.
    let masksByReLU: Bool
    let dx: UnsafeMutablePointer<Float>
    let gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>
    let gradGamma: UnsafeMutablePointer<Float>, gradBeta: UnsafeMutablePointer<Float>
    let mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>
    let batch: Int, channels: Int, plane: Int, count: Float
    let throughBatchStatistics: Bool, needsInputGradient: Bool
    /// bf16 (autocast): the input gradient rounded, and the ReLU mask taken where the rounded
    /// output was > 0 (`PositiveNormalized.threshold`).
    let roundsGradInput: Bool

    func run(_ range: Range<Int>) {
        switch x {
        case .float32(let values): run(range, values)
        case .bfloat16(let values): run(range, values)
        }
    }

    private func run<X: StoredValues>(_ range: Range<Int>, _ x: X) {
        let reluThreshold = roundsGradInput ? PositiveNormalizedThreshold.bfloat16 : 0
        for c in range {
            // The forward pass's affine map, computed as it computed it (the same roundings).
            let forwardScale = gamma[c] * inverseStd[c], forwardShift = beta[c] - mean[c] * forwardScale
            var sumDy = 0.0, sumDyCentred = 0.0
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                if c + 1 < range.upperBound {
                    // The next channel's planes, one image apart: short runs at 7x7 and 14x14
                    // that the hardware prefetchers miss.
                    x.prefetch(offset + plane, count: plane)
                    Prefetch.forReading(dy + offset + plane, bytes: plane * MemoryLayout<Float>.stride)
                }
                let (planeDy, planeDyCentred) = masksByReLU
                    ? planeSumAndCentredDot(
                        dy, x, offset, plane, mean[c],
                        PositiveNormalized(x: x, scale: forwardScale, shift: forwardShift, threshold: reluThreshold))
                    : planeSumAndCentredDot(dy, x, offset, plane, mean[c], Unmasked())
                sumDy += Double(planeDy)
                sumDyCentred += Double(planeDyCentred)
            }
            let sumDyNormalized = Float(sumDyCentred) * inverseStd[c]
            gradGamma[c] = sumDyNormalized
            gradBeta[c] = Float(sumDy)
            guard needsInputGradient else { continue }
            let scale = gamma[c] * inverseStd[c]
            let meanDy = throughBatchStatistics ? Float(sumDy) / count : 0
            let centredFactor = throughBatchStatistics ? sumDyNormalized / count * inverseStd[c] : 0
            let mu = mean[c]
            for n in 0..<batch {
                let offset = (n * channels + c) * plane
                let mask = PositiveNormalized(x: x, scale: forwardScale, shift: forwardShift, threshold: reluThreshold)
                let bf16 = RoundedToBFloat16(), fp32 = Unrounded()
                switch (masksByReLU, roundsGradInput) {
                case (true, true): inputGradient(x, of: offset, mask, bf16, scale, meanDy, mu, centredFactor)
                case (true, false): inputGradient(x, of: offset, mask, fp32, scale, meanDy, mu, centredFactor)
                case (false, true): inputGradient(x, of: offset, Unmasked(), bf16, scale, meanDy, mu, centredFactor)
                case (false, false): inputGradient(x, of: offset, Unmasked(), fp32, scale, meanDy, mu, centredFactor)
                }
            }
        }
    }

    /// dx = scale·(g − meanDy − (x − mu)·centredFactor) over one plane, g the masked dy, each
    /// value rounded by `rounding`.
    @inline(__always)
    private func inputGradient<X: StoredValues, Mask: GradientMask, Rounding: OutputRounding>(
        _ x: X, of offset: Int, _ mask: Mask, _ rounding: Rounding, _ scale: Float, _ meanDy: Float, _ mu: Float,
        _ centredFactor: Float
    ) {
        var i = 0
        while i + 8 <= plane {
            let g = mask.apply(UnsafeRawPointer(dy + offset + i).loadUnaligned(as: SIMD8<Float>.self), at: offset + i)
            let centred = x.load8(offset + i) - mu
            let value = rounding.apply(scale * (g - meanDy - centred * centredFactor))
            UnsafeMutableRawPointer(dx + offset + i).storeBytes(of: value, as: SIMD8<Float>.self)
            i += 8
        }
        while i < plane {
            let g = mask.apply(dy[offset + i], at: offset + i)
            dx[offset + i] = rounding.apply(scale * (g - meanDy - (x.load(offset + i) - mu) * centredFactor))
            i += 1
        }
    }
}

/// Σ x[start + i] over count values, four 8-lane accumulators (independent add chains).
@inline(__always)
func planeSum<X: StoredValues>(_ x: X, _ start: Int, _ count: Int) -> Float {
    var l0 = SIMD8<Float>(repeating: 0), l1 = l0, l2 = l0, l3 = l0
    var i = 0
    while i + 32 <= count {
        l0 += x.load8(start + i)
        l1 += x.load8(start + i + 8)
        l2 += x.load8(start + i + 16)
        l3 += x.load8(start + i + 24)
        i += 32
    }
    while i + 8 <= count {
        l0 += x.load8(start + i)
        i += 8
    }
    var total = ((l0 + l1) + (l2 + l3)).sum()
    while i < count { total += x.load(start + i); i += 1 }
    return total
}

/// Σ (x[start + i] − mean)² over count values, four 8-lane accumulators.
@inline(__always)
func planeSquaredDeviations<X: StoredValues>(_ x: X, _ start: Int, _ count: Int, _ mean: Float) -> Float {
    let m = SIMD8<Float>(repeating: mean)
    var l0 = SIMD8<Float>(repeating: 0), l1 = l0, l2 = l0, l3 = l0
    var i = 0
    while i + 32 <= count {
        let v0 = x.load8(start + i) - m
        let v1 = x.load8(start + i + 8) - m
        let v2 = x.load8(start + i + 16) - m
        let v3 = x.load8(start + i + 24) - m
        l0.addProduct(v0, v0); l1.addProduct(v1, v1); l2.addProduct(v2, v2); l3.addProduct(v3, v3)
        i += 32
    }
    while i + 8 <= count {
        let v = x.load8(start + i) - m
        l0.addProduct(v, v)
        i += 8
    }
    var total = ((l0 + l1) + (l2 + l3)).sum()
    while i < count {
        let v = x.load(start + i)
        total += (v - mean) * (v - mean)
        i += 1
    }
    return total
}

/// What BatchNorm2d does to each value it writes: nothing (Float32), or round it to bf16
/// (autocast), in the loop that computes it. A type per case, as `GradientMask`.
protocol OutputRounding {
    func apply(_ v: Float) -> Float
    func apply(_ v: SIMD8<Float>) -> SIMD8<Float>
}

struct Unrounded: OutputRounding {
    @inline(__always) func apply(_ v: Float) -> Float { v }
    @inline(__always) func apply(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
}

/// Round to nearest, ties to even; NaN stays NaN, made quiet (`BFloat16.round`, inlinable and
/// branch-free, so the loops stay vectorised).
struct RoundedToBFloat16: OutputRounding {
    @inline(__always) func apply(_ v: Float) -> Float { BFloat16.round(v) }
    @inline(__always) func apply(_ v: SIMD8<Float>) -> SIMD8<Float> { BFloat16.round(v) }
}

/// Which output gradients BatchNorm2d's backward counts: all, or where its ReLU's output is > 0.
/// A type per case, so each loop is compiled without a per-element test of which.
protocol GradientMask {
    func apply(_ g: SIMD8<Float>, at i: Int) -> SIMD8<Float>
    func apply(_ g: Float, at i: Int) -> Float
}

struct Unmasked: GradientMask {
    @inline(__always) func apply(_ g: SIMD8<Float>, at i: Int) -> SIMD8<Float> { g }
    @inline(__always) func apply(_ g: Float, at i: Int) -> Float { g }
}

/// Where a ReLU after the batch norm passed the gradient: where its output, max(v, 0) with
/// v = x·scale + shift, was > 0, that is where v > `threshold`. v is recomputed with the forward
/// pass's operations (a multiply, then an add: Swift does not fuse them), so the mask is the one
/// the output gave, bit for bit, without reading the output.
struct PositiveNormalized<X: StoredValues>: GradientMask {
    let x: X, scale: Float, shift: Float
    /// 0, or in bf16 `PositiveNormalizedThreshold.bfloat16`, where the output was v rounded.
    let threshold: Float

    @inline(__always) func apply(_ g: SIMD8<Float>, at i: Int) -> SIMD8<Float> {
        let v = x.load8(i) * scale + shift
        return SIMD8<Float>().replacing(with: g, where: v .> threshold)
    }
    @inline(__always) func apply(_ g: Float, at i: Int) -> Float { x.load(i) * scale + shift > threshold ? g : 0 }
}

enum PositiveNormalizedThreshold {
    /// The largest Float whose bf16 rounding is 0 (2⁻¹³⁴, bits 0x8000: ties to even): a rounded
    /// output is > 0 exactly where v is above it.
    static let bfloat16 = Float(bitPattern: 0x8000)
}

/// (Σ g[i], Σ g[i]·(x[i] − mean)) over i in start ..< start + count in one pass, two 8-lane
/// accumulators each, where g is dy under `mask`.
@inline(__always)
func planeSumAndCentredDot<X: StoredValues, Mask: GradientMask>(
    _ dy: UnsafePointer<Float>, _ x: X, _ start: Int, _ count: Int, _ mean: Float, _ mask: Mask
) -> (Float, Float) {
    let rawDy = UnsafeRawPointer(dy + start)
    let m = SIMD8<Float>(repeating: mean)
    var s0 = SIMD8<Float>(repeating: 0), s1 = s0, d0 = s0, d1 = s0
    var i = 0
    while i + 16 <= count {
        let g0 = mask.apply(rawDy.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), at: start + i)
        let g1 = mask.apply(rawDy.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self), at: start + i + 8)
        let v0 = x.load8(start + i) - m
        let v1 = x.load8(start + i + 8) - m
        s0 += g0; s1 += g1
        d0.addProduct(g0, v0); d1.addProduct(g1, v1)
        i += 16
    }
    while i + 8 <= count {
        let g = mask.apply(rawDy.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), at: start + i)
        let v = x.load8(start + i) - m
        s0 += g
        d0.addProduct(g, v)
        i += 8
    }
    var sum = (s0 + s1).sum(), dot = (d0 + d1).sum()
    while i < count {
        let g = mask.apply(dy[start + i], at: start + i)
        sum += g
        dot += g * (x.load(start + i) - mean)
        i += 1
    }
    return (sum, dot)
}
