import XCTest

@testable import Optim
@testable import TensorCore

/// SGD against values computed by hand from torch.optim.SGD's update rule, for a
/// single parameter p₀ = 1 with a constant gradient of 0.5 given at every step.
final class SGDTests: XCTestCase {
    func run(_ options: SGD.Options, steps: Int) -> [Float] {
        let parameter = Parameter(shape: [1])
        parameter.value[0] = 1
        let sgd = SGD(parameters: [("p", parameter)], options: options)
        return (0..<steps).map { _ in
            parameter.gradient[0] = 0.5
            sgd.step()
            return parameter.value[0]
        }
    }

    func testPlainSGD() {
        let values = run(SGD.Options(learningRate: 0.1), steps: 2)
        XCTAssertEqual(values[0], 0.95, accuracy: 1e-6)
        XCTAssertEqual(values[1], 0.90, accuracy: 1e-6)
    }

    func testMomentumWithWeightDecay() {
        // g = 0.5 + 0.1p; buf₁ = g₁; buf = 0.9 buf + g; p −= 0.1 buf
        let values = run(SGD.Options(learningRate: 0.1, momentum: 0.9, weightDecay: 0.1), steps: 3)
        XCTAssertEqual(values[0], 0.94, accuracy: 1e-6)      // g 0.6, buf 0.6
        XCTAssertEqual(values[1], 0.8266, accuracy: 1e-6)    // g 0.594, buf 1.134
        XCTAssertEqual(values[2], 0.666274, accuracy: 1e-6)  // g 0.58266, buf 1.60326
    }

    func testNesterov() {
        let values = run(SGD.Options(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1), steps: 2)
        XCTAssertEqual(values[0], 0.886, accuracy: 1e-6)     // g 0.6, buf 0.6, d = 0.6 + 0.54
        XCTAssertEqual(values[1], 0.725566, accuracy: 1e-6)  // g 0.5886, buf 1.1286, d 1.60434
    }

    func testDampeningIsNotAppliedOnTheFirstStep() {
        let values = run(SGD.Options(learningRate: 0.1, momentum: 0.9, dampening: 0.5), steps: 2)
        XCTAssertEqual(values[0], 0.95, accuracy: 1e-6)      // buf = g = 0.5
        XCTAssertEqual(values[1], 0.88, accuracy: 1e-6)      // buf = 0.45 + 0.5·0.5 = 0.7
    }

    func testStepSchedule() {
        let schedule = LearningRateSchedule.step(stepSize: 3, gamma: 0.1)
        XCTAssertEqual(schedule.learningRate(base: 0.05, epoch: 0), 0.05)
        XCTAssertEqual(schedule.learningRate(base: 0.05, epoch: 2), 0.05)
        XCTAssertEqual(schedule.learningRate(base: 0.05, epoch: 3), 0.005, accuracy: 1e-12)
        XCTAssertEqual(schedule.learningRate(base: 0.05, epoch: 7), 0.0005, accuracy: 1e-12)
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.05, epoch: 9), 0.05)
    }
}
