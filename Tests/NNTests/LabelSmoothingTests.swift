import NN
import TensorCore
import XCTest

/// Label smoothing against torch's `F.cross_entropy(x, y, label_smoothing=0.1)` on fixed logits
/// (values printed by torch 2.15), and ε = 0 unchanged.
final class LabelSmoothingTests: XCTestCase {
    let logits: [Float] = [1, 2, 0.5, -1, 0, -1, 3, 0.25, 2, 2, 2, 2]
    let labels: [Int32] = [1, 2, 0]

    func testMatchesTorchLossAndGradient() {
        let loss = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let result = loss.forward(logits: Tensor(shape: [3, 4], values: logits), labels: labels)
        XCTAssertEqual(result.meanLoss, 0.7955797910690308, accuracy: 1e-6)
        let torchGradient: [Float] = [
            0.06640259176492691, -0.10517998784780502, 0.03699629381299019, 0.0017810750287026167,
            0.00632677273824811, -0.002940181642770767, -0.01387720089405775, 0.010490616783499718,
            -0.22499999403953552, 0.07499998807907104, 0.07499998807907104, 0.07499998807907104,
        ]
        for (ours, theirs) in zip(loss.gradient.array, torchGradient) {
            XCTAssertEqual(ours, theirs, accuracy: 1e-6)
        }
        // The smoothed target keeps the prediction count and sums of gradient rows at zero.
        XCTAssertEqual(result.correct, 3)  // row 3 ties: the first class, its label
        for row in 0..<3 {
            XCTAssertEqual(loss.gradient.array[(row * 4)..<(row * 4 + 4)].reduce(0, +), 0, accuracy: 1e-6)
        }
    }

    func testZeroSmoothingIsPlainCrossEntropy() {
        let plain = SoftmaxCrossEntropy(), zero = SoftmaxCrossEntropy(labelSmoothing: 0)
        let a = plain.forward(logits: Tensor(shape: [3, 4], values: logits), labels: labels)
        let b = zero.forward(logits: Tensor(shape: [3, 4], values: logits), labels: labels)
        XCTAssertEqual(a, b)
        XCTAssertEqual(plain.gradient.array, zero.gradient.array)
    }
}
