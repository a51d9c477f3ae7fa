import Foundation
import TensorCore

/// Softmax cross-entropy over [N, classes] logits, mean over the batch (torch's
/// F.cross_entropy). Computes loss, correct predictions and dL/dlogits in one pass,
/// stabilised by subtracting each row's maximum before exponentiating.
///
/// With label smoothing ε (torch's `CrossEntropyLoss(label_smoothing=ε)`) the target is
/// (1 − ε)·onehot + ε/K over K classes: loss = (1 − ε)(−log p_label) + (ε/K) Σ_j (−log p_j),
/// gradient p − target.
public final class SoftmaxCrossEntropy {
    public let gradient = Tensor(shape: [0])
    /// ε in [0, 1); 0 is plain cross-entropy.
    public var labelSmoothing: Float

    public init(labelSmoothing: Float = 0) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing \(labelSmoothing) outside [0, 1)")
        self.labelSmoothing = labelSmoothing
    }

    public struct Result: Equatable, Sendable {
        /// Sum of per-sample losses (divide by `count` for the mean).
        public var lossSum: Double
        /// Samples whose arg-max logit is the label.
        public var correct: Int
        public var count: Int
        public var meanLoss: Double { count == 0 ? 0 : lossSum / Double(count) }
    }

    /// - Parameter gradientScale: multiplies dL/dlogits; the default 1/N gives the mean loss's gradient.
    @discardableResult
    public func forward(logits: Tensor, labels: [Int32], gradientScale: Float? = nil) -> Result {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                     "cross-entropy: logits \(logits.shape) for \(labels.count) labels")
        let batch = logits.shape[0], classes = logits.shape[1]
        let scale = gradientScale ?? (batch == 0 ? 0 : 1 / Float(batch))
        gradient.reshape(logits.shape)
        var lossSum = 0.0
        var correct = 0
        let x = logits.pointer, g = gradient.pointer
        let smoothing = Double(labelSmoothing), spread = Float(smoothing / Double(classes)) * scale
        for n in 0..<batch {
            let row = x + n * classes, gradRow = g + n * classes
            let label = Int(labels[n])
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            var maxValue = row[0], best = 0
            for j in 1..<classes where row[j] > maxValue { maxValue = row[j]; best = j }
            var total: Double = 0
            for j in 0..<classes {
                let e = Foundation.exp(Double(row[j] - maxValue))
                gradRow[j] = Float(e)
                total += e
            }
            // −log p_j = log Σ exp(x − max) − (x_j − max)
            let logTotal = Foundation.log(total)
            if smoothing == 0 {
                lossSum += logTotal - Double(row[label] - maxValue)
            } else {
                var shiftedSum = 0.0
                for j in 0..<classes { shiftedSum += Double(row[j] - maxValue) }
                lossSum += (1 - smoothing) * (logTotal - Double(row[label] - maxValue))
                    + smoothing / Double(classes) * (Double(classes) * logTotal - shiftedSum)
            }
            let inverse = 1 / total
            for j in 0..<classes { gradRow[j] = Float(Double(gradRow[j]) * inverse) * scale - spread }
            gradRow[label] -= Float(1 - smoothing) * scale
            if best == label { correct += 1 }
        }
        return Result(lossSum: lossSum, correct: correct, count: batch)
    }
}

/// A classification loss the trainer can use: results as cross-entropy reports them, and the
/// gradient with respect to the logits that `forward` leaves in `gradient`.
public protocol ClassificationLoss: AnyObject {
    var gradient: Tensor { get }
    func forward(logits: Tensor, labels: [Int32], gradientScale: Float?) -> SoftmaxCrossEntropy.Result
}

extension SoftmaxCrossEntropy: ClassificationLoss {}
