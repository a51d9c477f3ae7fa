import XCTest

@testable import Optim

/// ReduceLROnPlateau against torch 2.15. Each row is the state after step(metric):
/// (lr, best, num_bad_epochs, cooldown_counter, last_epoch), printed by
///
///     import torch; from torch.optim.lr_scheduler import ReduceLROnPlateau
///     def plateau(lr, metrics, **kw):
///         o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
///         s = ReduceLROnPlateau(o, **kw); rows = []
///         for x in metrics:
///             s.step(x); rows.append((o.param_groups[0]['lr'], s.best, s.num_bad_epochs, s.cooldown_counter, s.last_epoch))
///         return rows
///
/// with the arguments given above each case.
final class ReduceLROnPlateauTests: XCTestCase {
    typealias Row = (lr: Double, best: Double, bad: Int, cooldown: Int, lastEpoch: Int)

    func check(_ options: PlateauOptions, rate: Double, metrics: [Double], expected: [Row],
               file: StaticString = #filePath, line: UInt = #line) throws {
        var plateau = try ReduceLROnPlateau(options: options, learningRate: rate)
        XCTAssertEqual(metrics.count, expected.count, file: file, line: line)
        for (i, (metric, row)) in zip(metrics, expected).enumerated() {
            let old = plateau.learningRate
            let reduction = plateau.step(metric: metric)
            let s = plateau.state
            XCTAssertEqual(s.learningRate, row.lr, accuracy: 1e-15 * row.lr, "epoch \(i + 1)", file: file, line: line)
            XCTAssertEqual(s.best, row.best, "epoch \(i + 1)", file: file, line: line)
            XCTAssertEqual(s.badEpochs, row.bad, "epoch \(i + 1)", file: file, line: line)
            XCTAssertEqual(s.cooldownCounter, row.cooldown, "epoch \(i + 1)", file: file, line: line)
            XCTAssertEqual(s.lastEpoch, row.lastEpoch, "epoch \(i + 1)", file: file, line: line)
            XCTAssertEqual(reduction, s.learningRate != old ? ReduceLROnPlateau.Reduction(old: old, new: s.learningRate) : nil,
                           "epoch \(i + 1)", file: file, line: line)
        }
    }

    func testMinRelative() throws {
        // plateau(1.0, metrics, mode='min', factor=0.5, patience=2, threshold=0.01, threshold_mode='rel')
        try check(PlateauOptions(mode: .min, factor: 0.5, patience: 2, threshold: 0.01, thresholdMode: .rel), rate: 1.0,
                  metrics: [1.0, 0.9, 0.995, 0.95, 0.892, 0.8911, 0.8, 0.85, 0.86, 0.87, 0.88, 0.7],
                  expected: [(1.0, 1.0, 0, 0, 1), (1.0, 0.9, 0, 0, 2), (1.0, 0.9, 1, 0, 3), (1.0, 0.9, 2, 0, 4),
                             (0.5, 0.9, 0, 0, 5), (0.5, 0.9, 1, 0, 6), (0.5, 0.8, 0, 0, 7), (0.5, 0.8, 1, 0, 8),
                             (0.5, 0.8, 2, 0, 9), (0.25, 0.8, 0, 0, 10), (0.25, 0.8, 1, 0, 11), (0.25, 0.7, 0, 0, 12)])
    }

    func testMinAbsoluteWithCooldown() throws {
        // plateau(0.5, metrics, mode='min', factor=0.2, patience=1, threshold=0.05, threshold_mode='abs', cooldown=2)
        try check(PlateauOptions(mode: .min, factor: 0.2, patience: 1, threshold: 0.05, thresholdMode: .abs, cooldown: 2),
                  rate: 0.5, metrics: [2.0, 1.95, 1.9, 1.89, 1.5, 1.6, 1.7, 1.8, 1.49, 1.48, 1.3, 1.4],
                  expected: [(0.5, 2.0, 0, 0, 1), (0.5, 2.0, 1, 0, 2), (0.5, 1.9, 0, 0, 3), (0.5, 1.9, 1, 0, 4),
                             (0.5, 1.5, 0, 0, 5), (0.5, 1.5, 1, 0, 6), (0.1, 1.5, 0, 2, 7), (0.1, 1.5, 0, 1, 8),
                             (0.1, 1.5, 0, 0, 9), (0.1, 1.5, 1, 0, 10), (0.1, 1.3, 0, 0, 11), (0.1, 1.3, 1, 0, 12)])
    }

    func testMaxAbsoluteClampedAtMinimumRate() throws {
        // plateau(0.1, metrics, mode='max', factor=0.1, patience=1, threshold=0.05, threshold_mode='abs',
        //         cooldown=1, min_lr=0.002)
        try check(PlateauOptions(mode: .max, factor: 0.1, patience: 1, threshold: 0.05, thresholdMode: .abs, cooldown: 1,
                                 minimumRate: 0.002),
                  rate: 0.1, metrics: [0.5, 0.52, 0.6, 0.61, 0.62, 0.63, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7],
                  expected: [(0.1, 0.5, 0, 0, 1), (0.1, 0.5, 1, 0, 2), (0.1, 0.6, 0, 0, 3), (0.1, 0.6, 1, 0, 4),
                             (0.010000000000000002, 0.6, 0, 1, 5), (0.010000000000000002, 0.6, 0, 0, 6),
                             (0.010000000000000002, 0.7, 0, 0, 7), (0.010000000000000002, 0.7, 1, 0, 8),
                             (0.002, 0.7, 0, 1, 9), (0.002, 0.7, 0, 0, 10), (0.002, 0.7, 1, 0, 11), (0.002, 0.7, 0, 1, 12)])
    }

    func testMaxRelativeNoPatience() throws {
        // plateau(0.3, metrics, mode='max', factor=0.7, patience=0, threshold=0.02, threshold_mode='rel')
        try check(PlateauOptions(mode: .max, factor: 0.7, patience: 0, threshold: 0.02, thresholdMode: .rel), rate: 0.3,
                  metrics: [10.0, 10.5, 11.0, 11.05, 11.1, 12.5, 12.0, 12.6, 12.7, 20.0, 19.0, 18.0],
                  expected: [(0.3, 10.0, 0, 0, 1), (0.3, 10.5, 0, 0, 2), (0.3, 11.0, 0, 0, 3), (0.21, 11.0, 0, 0, 4),
                             (0.147, 11.0, 0, 0, 5), (0.147, 12.5, 0, 0, 6), (0.10289999999999999, 12.5, 0, 0, 7),
                             (0.07202999999999998, 12.5, 0, 0, 8), (0.05042099999999999, 12.5, 0, 0, 9),
                             (0.05042099999999999, 20.0, 0, 0, 10), (0.03529469999999999, 20.0, 0, 0, 11),
                             (0.024706289999999992, 20.0, 0, 0, 12)])
    }

    func testEpsSkipsDropAtMinimumRate() throws {
        // plateau(0.1, [1.0] * 8, factor=0.5, patience=0, min_lr=0.03, eps=0.01)
        try check(PlateauOptions(factor: 0.5, patience: 0, minimumRate: 0.03, eps: 0.01), rate: 0.1,
                  metrics: Array(repeating: 1.0, count: 8),
                  expected: [(0.1, 1.0, 0, 0, 1), (0.05, 1.0, 0, 0, 2), (0.03, 1.0, 0, 0, 3), (0.03, 1.0, 0, 0, 4),
                             (0.03, 1.0, 0, 0, 5), (0.03, 1.0, 0, 0, 6), (0.03, 1.0, 0, 0, 7), (0.03, 1.0, 0, 0, 8)])
    }

    func testEpsSkipsSmallDrop() throws {
        // plateau(0.01, [1.0] * 6, factor=0.5, patience=0, eps=0.004): 0.01 → 0.005, then 0.0025 < eps is skipped.
        try check(PlateauOptions(factor: 0.5, patience: 0, eps: 0.004), rate: 0.01,
                  metrics: Array(repeating: 1.0, count: 6),
                  expected: [(0.01, 1.0, 0, 0, 1), (0.005, 1.0, 0, 0, 2), (0.005, 1.0, 0, 0, 3), (0.005, 1.0, 0, 0, 4),
                             (0.005, 1.0, 0, 0, 5), (0.005, 1.0, 0, 0, 6)])
    }

    func testNaNMetricsAreBadEpochs() throws {
        // plateau(1.0, [1.0, nan, nan, 0.5, nan, nan, nan, 0.4, nan], factor=0.5, patience=1)
        try check(PlateauOptions(factor: 0.5, patience: 1), rate: 1.0,
                  metrics: [1.0, .nan, .nan, 0.5, .nan, .nan, .nan, 0.4, .nan],
                  expected: [(1.0, 1.0, 0, 0, 1), (1.0, 1.0, 1, 0, 2), (0.5, 1.0, 0, 0, 3), (0.5, 0.5, 0, 0, 4),
                             (0.5, 0.5, 1, 0, 5), (0.25, 0.5, 0, 0, 6), (0.25, 0.5, 1, 0, 7), (0.25, 0.4, 0, 0, 8),
                             (0.25, 0.4, 1, 0, 9)])
    }

    func testNaNBeforeAnyBestInMaxMode() throws {
        // plateau(1.0, [nan, nan, 3.0, nan], mode='max', factor=0.5, patience=0): best stays -inf.
        try check(PlateauOptions(mode: .max, factor: 0.5, patience: 0), rate: 1.0, metrics: [.nan, .nan, 3.0, .nan],
                  expected: [(0.5, -.infinity, 0, 0, 1), (0.25, -.infinity, 0, 0, 2), (0.25, 3.0, 0, 0, 3),
                             (0.125, 3.0, 0, 0, 4)])
    }

    func testStateRoundTripMidSequence() throws {
        let options = PlateauOptions(mode: .min, factor: 0.3, patience: 1, threshold: 0.01, thresholdMode: .rel, cooldown: 2,
                                     minimumRate: 1e-5, eps: 1e-9)
        let metrics = [1.0, 0.9, 0.95, 0.97, 0.85, 0.86, 0.87, 0.88, 0.84, 0.841, 0.842, 0.843, 0.5, 0.6, 0.7]
        for split in [0, 3, 6, 7, 11] {
            var whole = try ReduceLROnPlateau(options: options, learningRate: 0.1)
            var first = whole
            metrics[..<split].forEach { first.step(metric: $0) }
            let metadata = first.state.metadata
            var resumed = try ReduceLROnPlateau(options: options, learningRate: 123)
            resumed.state = try XCTUnwrap(PlateauState(metadata: metadata))
            XCTAssertEqual(resumed.state, first.state)
            var decisionsWhole: [ReduceLROnPlateau.Reduction?] = [], decisionsResumed: [ReduceLROnPlateau.Reduction?] = []
            for (i, metric) in metrics.enumerated() {
                let decision = whole.step(metric: metric)
                if i >= split { decisionsWhole.append(decision); decisionsResumed.append(resumed.step(metric: metric)) }
            }
            XCTAssertEqual(decisionsResumed, decisionsWhole, "split \(split)")
            XCTAssertEqual(resumed.state, whole.state, "split \(split)")
        }
    }

    func testMetadataEncodingIsExact() throws {
        let state = PlateauState(learningRate: 0.1 * 0.3 * 0.3, best: -.infinity, badEpochs: 2, cooldownCounter: 1,
                                 lastEpoch: 17)
        XCTAssertEqual(state.metadata, ["lr": "0.009", "best": "-inf", "num_bad_epochs": "2",
                                        "cooldown_counter": "1", "last_epoch": "17"])
        XCTAssertEqual(PlateauState(metadata: state.metadata), state)
        let fresh = try ReduceLROnPlateau(options: PlateauOptions(), learningRate: 0.1)
        XCTAssertEqual(fresh.state.metadata["best"], "inf")
        XCTAssertEqual(PlateauState(metadata: fresh.state.metadata)?.best, .infinity)
        for value in [1e-05, 0.1 + 0.2, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 2.0 / 3.0] {
            var s = state
            s.learningRate = value
            XCTAssertEqual(PlateauState(metadata: s.metadata)?.learningRate.bitPattern, value.bitPattern)
        }
        var missing = state.metadata
        missing["cooldown_counter"] = nil
        XCTAssertNil(PlateauState(metadata: missing))
        XCTAssertNil(PlateauState(metadata: state.metadata.merging(["best": "x"]) { $1 }))
    }
}

final class EarlyStoppingTests: XCTestCase {
    func testStopsWhenEpochsWithoutImprovementReachPatience() throws {
        // As Keras and Lightning: patience 2 stops after the second epoch in a row without improvement.
        var stopping = try EarlyStopping(patience: 2)  // min mode, any strict decrease improves
        let decisions = [1.0, 0.8, 0.8, 0.7, .nan, 0.9].map { stopping.update(metric: $0) }
        XCTAssertEqual(decisions.map(\.improved), [true, true, false, true, false, false])
        XCTAssertEqual(decisions.map(\.stop), [false, false, false, false, false, true])
        XCTAssertEqual(stopping.best, 0.7)
        XCTAssertEqual(stopping.state.epochsWithoutImprovement, 2)
    }

    func testMaxModeWithThreshold() throws {
        // Accuracy must rise by more than 0.01 (absolute) to count; patience 0 stops at the first miss.
        var stopping = try EarlyStopping(patience: 0, criterion: ImprovementCriterion(mode: .max, threshold: 0.01,
                                                                                         thresholdMode: .abs))
        XCTAssertEqual(stopping.update(metric: 0.5), EarlyStopping.Decision(improved: true, stop: false))
        XCTAssertEqual(stopping.update(metric: 0.52), EarlyStopping.Decision(improved: true, stop: false))
        XCTAssertEqual(stopping.update(metric: 0.525), EarlyStopping.Decision(improved: false, stop: true))
        XCTAssertEqual(stopping.best, 0.52)
    }

    func testNilPatienceOnlyTracksBest() throws {
        var tracker = try EarlyStopping(patience: nil)
        for metric in [3.0, 2.0, 5.0, 6.0, 7.0, 8.0] { XCTAssertFalse(tracker.update(metric: metric).stop) }
        XCTAssertEqual(tracker.best, 2.0)
    }

    func testStateRoundTrip() throws {
        let metrics = [1.0, 0.9, 0.95, 0.96, 0.7, 0.8, 0.81, 0.82, 0.83]
        var whole = try EarlyStopping(patience: 2)
        var first = whole
        metrics[..<3].forEach { first.update(metric: $0) }
        XCTAssertEqual(first.state.metadata, ["best": "0.9", "epochs_without_improvement": "1"])
        var resumed = try EarlyStopping(patience: 2)
        resumed.state = try XCTUnwrap(EarlyStopping.State(metadata: first.state.metadata))
        for (i, metric) in metrics.enumerated() {
            let decision = whole.update(metric: metric)
            if i >= 3 { XCTAssertEqual(resumed.update(metric: metric), decision, "epoch \(i + 1)") }
        }
        XCTAssertTrue(resumed.shouldStop)
        XCTAssertEqual(EarlyStopping.State(metadata: try EarlyStopping(patience: 1).state.metadata)?.best, .infinity)
        XCTAssertNil(EarlyStopping.State(metadata: ["best": "1"]))
    }
}
