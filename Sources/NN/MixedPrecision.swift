import TensorCore

/// A layer that computes differently in bfloat16: `Conv2d` and `Linear`, whose matrix products
/// torch.autocast("cpu", dtype=torch.bfloat16) runs in bf16, and the layers whose outputs or
/// gradients autocast gives in bf16 because their inputs are (`BatchNorm2d`'s output and input
/// gradient, `Residual`'s sum and input gradient, `Concat`'s input gradient), which round them.
/// Every other layer computes as in Float32 (ReLU, max pooling and concatenation keep bf16
/// values; average pooling and activations other than ReLU do not round theirs, a deviation).
public protocol MixedPrecisionLayer: Layer {
    var precision: ComputePrecision { get set }
    /// Values of the rounded copies a training step in bf16 always keeps beside the Float32
    /// tensors, for an input of `inputShape` (batch first), on the bf16 path `BFloat16ISA.active`
    /// selects (copies made only for some inputs are left out: a lower bound).
    func bfloat16CopyValues(inputShape: [Int]) -> Int
}

extension Layer {
    /// Sets the compute precision of this layer and every descendant that has one.
    public func setPrecision(_ precision: ComputePrecision) {
        if let layer = self as? MixedPrecisionLayer { layer.precision = precision }
        for child in children { child.layer.setPrecision(precision) }
    }
}

/// The bf16 copies a layer computes from: rounded once per forward (weights: once per step,
/// as autocast's cast cache does) and kept for backward.
final class BFloat16Copies {
    let input = Tensor(shape: [0])
    let weight = Tensor(shape: [0])
    let bias = Tensor(shape: [0])
    let gradOutput = Tensor(shape: [0])

    /// `destination` ← `source` rounded to bf16, reshaped to match.
    static func round(_ source: Tensor, into destination: Tensor) {
        destination.reshape(source.shape)
        BFloat16Rounding.roundInParallel(source.pointer, into: destination.pointer, count: source.count)
    }

    /// `source` itself when it holds bf16 values only (rounding would not change a bit), else
    /// `copy` holding it rounded.
    static func roundedOrItself(_ source: Tensor, copy: Tensor) -> Tensor {
        if checksForBFloat16Values && BFloat16Rounding.holdsOnlyBFloat16Values(source.pointer, count: source.count) {
            return source
        }
        round(source, into: copy)
        return copy
    }

    /// Whether `roundedOrItself` looks before copying; tests turn it off to compare with always
    /// copying.
    nonisolated(unsafe) static var checksForBFloat16Values = true

    static func roundInPlace(_ tensor: Tensor) {
        BFloat16Rounding.roundInParallel(tensor.pointer, into: tensor.pointer, count: tensor.count)
    }
}
