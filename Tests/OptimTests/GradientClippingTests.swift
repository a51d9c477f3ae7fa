import Optim
import TensorCore
import XCTest

/// Against torch.nn.utils.clip_grad_norm_ on the same gradients (torch 2.15: norm 13 → ×6.5/13).
final class GradientClippingTests: XCTestCase {
    func parameters(_ gradients: [[Float]]) -> [Parameter] {
        gradients.map { values in
            let parameter = Parameter(shape: [values.count])
            for (i, value) in values.enumerated() { parameter.gradient.pointer[i] = value }
            return parameter
        }
    }

    func testScalesAllGradientsByOneFactorAboveTheNorm() {
        let clipped = parameters([[3, 4], [0, 12]])
        XCTAssertEqual(GradientClipping.clip(clipped, maxNorm: 6.5), 13, accuracy: 1e-12)
        let torch: [[Float]] = [[1.4999998807907104, 1.9999998807907104], [0, 5.999999523162842]]
        for (parameter, expected) in zip(clipped, torch) {
            for i in 0..<2 { XCTAssertEqual(parameter.gradient.pointer[i], expected[i], accuracy: 1e-6) }
        }
    }

    func testLeavesGradientsWithinTheNormAlone() {
        let kept = parameters([[3, 4], [0, 12]])
        XCTAssertEqual(GradientClipping.clip(kept, maxNorm: 20), 13, accuracy: 1e-12)
        XCTAssertEqual(kept[1].gradient.pointer[1], 12)
        let nonFinite = parameters([[.nan, 1]])
        XCTAssertTrue(GradientClipping.clip(nonFinite, maxNorm: 1).isNaN)
        XCTAssertEqual(nonFinite[0].gradient.pointer[1], 1)
    }
}
