import Foundation
import TensorCore

/// torch.nn.utils.clip_grad_norm_: the gradients of all `parameters` as one vector, scaled by
/// min(1, maxNorm / (‖g‖₂ + 1e-6)) when their L2 norm exceeds `maxNorm` (every gradient
/// multiplied by the same factor, as torch multiplies by the clamped coefficient).
public enum GradientClipping {
    /// Clips in place; returns the norm before clipping (NaN or ∞ left as they are: the step's
    /// non-finite loss handling decides what happens to such a step).
    @discardableResult
    public static func clip(_ parameters: [Parameter], maxNorm: Double) -> Double {
        var squares = 0.0
        for parameter in parameters {
            let g = parameter.gradient.pointer
            for i in 0..<parameter.count { squares += Double(g[i]) * Double(g[i]) }
        }
        let norm = squares.squareRoot()
        let coefficient = maxNorm / (norm + 1e-6)
        guard norm.isFinite, coefficient < 1 else { return norm }
        let factor = Float(coefficient)
        for parameter in parameters {
            let g = parameter.gradient.pointer
            for i in 0..<parameter.count { g[i] *= factor }
        }
        return norm
    }
}
