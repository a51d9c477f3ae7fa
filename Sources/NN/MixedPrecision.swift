import TensorCore

/// A layer whose matrix products can run in bfloat16 (`Conv2d`, `Linear`): the layers
/// torch.autocast("cpu", dtype=torch.bfloat16) runs in bf16. Every other layer stays Float32.
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
