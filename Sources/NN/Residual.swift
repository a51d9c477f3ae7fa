import TensorCore

/// A residual block: activation(main(x) + shortcut(x)), with the identity as the default
/// shortcut (torchvision's BasicBlock and Bottleneck). The main chain's layers and the
/// shortcut are children under their own names, so a BasicBlock's tensors come out as
/// conv1.weight, bn1.running_mean, …, downsample.0.weight; the activation is a child
/// ("activation") only when it has parameters or buffers.
/// forward: [N, C, H, W] → main chain's output shape (the shortcut's output must equal it)
///
/// In bf16 (autocast) the sum and the input gradient are rounded to bf16, as autocast's bf16
/// `out += identity` and autograd's sum of the two paths' bf16 gradients are.
public final class Residual: MixedPrecisionLayer {
    public let kind = "Residual"
    public let mainLayers: [(name: String, layer: Layer)]
    public let shortcut: (name: String, layer: Layer)?
    public let activation: Layer?
    public let children: [(name: String, layer: Layer)]
    public var isTraining = true {
        didSet { activation?.isTraining = isTraining }
    }
    public var precision = ComputePrecision.fp32
    /// Whether the last forward rounded (backward rounds the input gradient then).
    private var roundedForward = false
    public var needsInputGradient = true {
        didSet {
            mainLayers.first?.layer.needsInputGradient = needsInputGradient
            shortcut?.layer.needsInputGradient = needsInputGradient
        }
    }

    /// main(x) + shortcut(x), the activation's input (and the block's output without one),
    /// when it cannot overwrite the main path's output.
    private let sum = Tensor(shape: [0])
    /// Adds the shortcut into the main path's output in place (torchvision's `out += identity`)
    /// when that output is the last main layer's own and its backward does not read it.
    let sumsInPlace: Bool
    /// The gradient at the sum when the ReLU is fused into the addition.
    let gradSum = Tensor(shape: [0])
    /// A plain ReLU activation runs fused with the addition (one pass, the sum holds its output).
    let fusesReLU: Bool
    /// With that fusion and the sum in place, a last main layer that is a batch norm adds the
    /// shortcut and applies the ReLU in its own output pass (`BatchNorm2d.addsShortcutThenReLU`):
    /// one read and one write of the block's output less. Then the shortcut runs before it.
    let normalizationAddsShortcut: BatchNorm2d?
    /// Tests turn the fusion into the batch norm off to compare it with the separate pass.
    nonisolated(unsafe) static var fusesShortcutIntoNormalization = true
    /// The block after this one in its chain, if convolutions read its input (`inputReaders`,
    /// `planBFloat16Storage`): when it reads bf16 bits (`readsBFloat16Input`), this block's sum
    /// is kept as bf16 bits, half the bytes.
    public internal(set) weak var nextBlock: Residual?
    let gradInput = Tensor(shape: [0])
    /// The tensor the last forward summed into (`sum`, or the main path's output).
    private var summed: Tensor?
    private var inputShape: [Int] = []
    private let activationIsChild: Bool

    public init(main: [(name: String, layer: Layer)], shortcut: (name: String, layer: Layer)? = nil,
                activation: Layer? = ReLU()) {
        mainLayers = main
        self.shortcut = shortcut
        self.activation = activation
        fusesReLU = activation is ReLU
        planReLUs(main)  // before sumsInPlace: a batch norm that applies a ReLU reads its output
        planBFloat16Storage(main)
        sumsInPlace = main.last.map { backwardReadsInputOnly($0.layer) } ?? false
        normalizationAddsShortcut = fusesReLU && sumsInPlace ? main.last?.layer as? BatchNorm2d : nil
        activationIsChild = activation.map { !$0.namedParameters().isEmpty || !$0.namedBuffers().isEmpty } ?? false
        children = main + (shortcut.map { [$0] } ?? []) + (activationIsChild ? [("activation", activation!)] : [])
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        var shape = inputShape
        for child in mainLayers { shape = try childOutputShape(child, for: shape) }
        let shortcutShape = try shortcut.map { try childOutputShape($0, for: inputShape) } ?? inputShape
        guard shape == shortcutShape else {
            let what = shortcut.map { "the shortcut '\($0.name)' gives \(shortcutShape)" }
                ?? "the identity shortcut passes the input \(inputShape) (add a shortcut that maps it, such as a 1x1 convolution)"
            throw NNError.shapeMismatch(layer: kind, message: "the main path gives \(shape) but \(what)")
        }
        guard let activation else { return shape }
        return try childOutputShape(("activation", activation), for: shape)
    }

    /// torchvision adds the shortcut in place (out += identity) before its in-place ReLU.
    public var allocatesOutput: Bool { false }

    public func beginStep(random: RandomGenerator) {
        for child in children { child.layer.beginStep(random: random.split(child.name)) }
        if let activation, !activationIsChild { activation.beginStep(random: random.split("activation")) }
    }

    public func forward(_ input: Tensor) -> Tensor {
        inputShape = input.shape
        roundedForward = precision.roundsToBFloat16
        if let norm = normalizationAddsShortcut, Residual.fusesShortcutIntoNormalization {
            return forwardAddingInNormalization(norm, input)
        }
        var x = input
        for child in mainLayers { x = LayerProfiler.forward(child.layer, x) }
        let shortcutOutput = shortcut.map { LayerProfiler.forward($0.layer, input) } ?? input
        precondition(x.shape == shortcutOutput.shape,
                     "Residual: main path gives \(x.shape) but the shortcut gives \(shortcutOutput.shape)")
        let sum: Tensor
        if sumsInPlace && x !== input && x !== shortcutOutput {
            sum = x
        } else {
            sum = self.sum
            sum.reshape(x.shape)
        }
        summed = sum
        if fusesReLU {
            // ReLU keeps bf16 values: relu(round(s)) = round(relu(s)).
            Elementwise.addRelu(x.pointer, shortcutOutput.pointer, into: sum.pointer, count: sum.count)
            roundIfBFloat16(sum)
            return sum
        }
        Elementwise.add(x.pointer, shortcutOutput.pointer, into: sum.pointer, count: sum.count)
        roundIfBFloat16(sum)
        return activation?.forward(sum) ?? sum
    }

    /// The main path up to its batch norm, the shortcut, then the batch norm writing
    /// relu(normalised + shortcut) into its own output, which is the sum (`sumsInPlace`).
    private func forwardAddingInNormalization(_ norm: BatchNorm2d, _ input: Tensor) -> Tensor {
        var x = input
        for child in mainLayers.dropLast() { x = LayerProfiler.forward(child.layer, x) }
        let shortcutOutput = shortcut.map { LayerProfiler.forward($0.layer, input) } ?? input
        precondition(x.shape == shortcutOutput.shape,
                     "Residual: main path gives \(x.shape) but the shortcut gives \(shortcutOutput.shape)")
        norm.addsShortcutThenReLU = shortcutOutput
        norm.keepsSumAsBits = roundedForward && nextBlock?.readsBFloat16Input == true
        let sum = LayerProfiler.forward(norm, x)
        summed = sum
        return sum
    }

    /// The gradient at the sum flows into both paths unchanged; their input gradients add up.
    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let sum = summed else { preconditionFailure("Residual.backward before forward") }
        let gradSum: Tensor
        if fusesReLU {
            self.gradSum.reshape(sum.shape)
            if sum.element == .bfloat16 {
                Elementwise.reluBackward(outputBits: sum.bfloat16Bits, gradOutput: gradOutput.pointer,
                                         gradInput: self.gradSum.pointer, count: sum.count)
            } else {
                Elementwise.reluBackward(output: sum.pointer, gradOutput: gradOutput.pointer,
                                         gradInput: self.gradSum.pointer, count: sum.count)
            }
            gradSum = self.gradSum
        } else {
            gradSum = activation?.backward(gradOutput) ?? gradOutput
        }
        var gradMain = gradSum
        for child in mainLayers.reversed() { gradMain = LayerProfiler.backward(child.layer, gradMain) }
        let gradShortcut = shortcut.map { LayerProfiler.backward($0.layer, gradSum) } ?? gradSum
        gradInput.reshape(inputShape)
        if needsInputGradient {
            if roundedForward {
                Elementwise.addRoundingToBFloat16(gradMain.pointer, gradShortcut.pointer, into: gradInput.pointer,
                                                  count: gradInput.count)
            } else {
                Elementwise.add(gradMain.pointer, gradShortcut.pointer, into: gradInput.pointer, count: gradInput.count)
            }
        }
        return gradInput
    }

    /// The convolutions that read this block's input: the one opening the main path, and the one
    /// opening the shortcut (nil for the identity, which the fused batch norm adds, reading any
    /// element); nil when another layer reads it, or the block adds in a pass of its own. A pair,
    /// not an array: `readsBFloat16Input` asks every step, and an array was a heap allocation
    /// per block (8 a step in ResNet-20 bf16).
    var inputReaders: (main: Conv2d, shortcut: Conv2d?)? {
        guard normalizationAddsShortcut != nil, let main = mainLayers.first?.layer as? Conv2d else { return nil }
        guard let shortcut else { return (main, nil) }
        let opening = shortcut.layer is Sequential ? shortcut.layer.children.first?.layer : shortcut.layer
        guard let convolution = opening as? Conv2d else { return nil }
        return (main, convolution)
    }

    /// Whether this block takes its input as bf16 bits now: in bf16, on the fused path, with
    /// bf16 convolutions as its `inputReaders`.
    var readsBFloat16Input: Bool {
        guard precision.roundsToBFloat16, Residual.fusesShortcutIntoNormalization, let readers = inputReaders
        else { return false }
        return readers.main.precision.roundsToBFloat16 && readers.shortcut?.precision.roundsToBFloat16 != false
    }

    private func roundIfBFloat16(_ tensor: Tensor) {
        guard roundedForward else { return }
        BFloat16Rounding.roundInParallel(tensor.pointer, into: tensor.pointer, count: tensor.count)
    }

    /// A residual block keeps no rounded copies of its own.
    public func bfloat16CopyValues(inputShape: [Int]) -> Int { 0 }
}
