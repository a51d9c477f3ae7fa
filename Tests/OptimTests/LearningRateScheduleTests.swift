import XCTest

@testable import Optim

/// Closed-form schedules and warm-up against learning rates printed by PyTorch 2.15
/// (torch.optim.lr_scheduler stepped epoch by epoch, i.e. its recursive form, which agrees
/// with the closed forms here to ~1e-16 relative). Common Python:
///
///     import torch; from torch.optim.lr_scheduler import *
///     def opt(lr): return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
///     def seq(make, lr, n):
///         o = opt(lr); s = make(o); out = []
///         for _ in range(n): out.append(o.param_groups[0]['lr']); o.step(); s.step()
///         return out
///     def closed(make, lr, n):  # torch's closed form at each t
///         o = opt(lr); s = make(o); out = []
///         for t in range(n): s.last_epoch = t; out.append(s._get_closed_form_lr()[0])
///         return out
final class LearningRateScheduleTests: XCTestCase {
    func assertRates(_ actual: [Double], _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (t, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: 1e-12 * Swift.max(abs(e), 1e-3), "t = \(t)", file: file, line: line)
        }
    }

    func rates(_ schedule: LearningRateSchedule, base: Double, count: Int) -> [Double] {
        (0..<count).map { schedule.learningRate(base: base, at: $0) }
    }

    func testStepLR() {
        // seq(lambda o: StepLR(o, step_size=3, gamma=0.1), 0.05, 10)
        assertRates(rates(.step(stepSize: 3, gamma: 0.1), base: 0.05, count: 10),
                    [0.05, 0.05, 0.05, 0.005000000000000001, 0.005000000000000001, 0.005000000000000001,
                     0.0005000000000000001, 0.0005000000000000001, 0.0005000000000000001, 5.0000000000000016e-05])
        XCTAssertEqual(LearningRateSchedule.step(stepSize: 3, gamma: 0.1).learningRate(base: 0.05, epoch: 4),
                       LearningRateSchedule.step(stepSize: 3, gamma: 0.1).learningRate(base: 0.05, at: 4))
    }

    func testMultiStepLR() {
        // seq(lambda o: MultiStepLR(o, milestones=[2,5,8], gamma=0.5), 0.1, 10)
        assertRates(rates(.multiStep(milestones: [2, 5, 8], gamma: 0.5), base: 0.1, count: 10),
                    [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125])
    }

    func testExponentialLR() {
        // seq(lambda o: ExponentialLR(o, gamma=0.9), 0.1, 10)
        assertRates(rates(.exponential(gamma: 0.9), base: 0.1, count: 10),
                    [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002,
                     0.05904900000000002, 0.05314410000000002, 0.04782969000000002, 0.043046721000000024,
                     0.03874204890000002])
    }

    func testCosineAnnealingLRPastTMax() {
        let cosine = LearningRateSchedule.cosine(period: 5, minimum: 0.001)
        // Stepped (recursive) form: seq(lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.001), 0.1, 13)
        assertRates(rates(cosine, base: 0.1, count: 13),
                    [0.1, 0.0905463412215599, 0.06579634122155989, 0.035203658778440096, 0.010453658778440105, 0.001,
                     0.010453658778440102, 0.03520365877844012, 0.06579634122155993, 0.09054634122155995,
                     0.10000000000000005, 0.09054634122155998, 0.06579634122155995])
        // Closed form: closed(lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.001), 0.1, 13)
        let closedForm = [0.1, 0.0905463412215599, 0.0657963412215599, 0.03520365877844011, 0.010453658778440109, 0.001,
                          0.010453658778440095, 0.035203658778440096, 0.06579634122155989, 0.0905463412215599, 0.1,
                          0.09054634122155994, 0.06579634122155992]
        for (t, expected) in closedForm.enumerated() {
            XCTAssertEqual(cosine.learningRate(base: 0.1, at: t), expected, accuracy: 4e-17, "t = \(t)")
        }
    }

    func testCosineAnnealingToZero() {
        // closed(lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.0), 0.2, 10)
        let expected = [0.2, 0.17071067811865476, 0.1, 0.029289321881345254, 0.0, 0.029289321881345233,
                        0.09999999999999998, 0.17071067811865476, 0.2, 0.17071067811865479]
        let cosine = LearningRateSchedule.cosine(period: 4, minimum: 0)
        for (t, e) in expected.enumerated() {
            XCTAssertEqual(cosine.learningRate(base: 0.2, at: t), e, accuracy: 1e-16, "t = \(t)")
        }
    }

    func testWarmupInStepsTimesMultiStepInEpochs() {
        // LinearLR stepped after every optimizer step, MultiStepLR after every epoch (3 steps each);
        // both scale the same optimizer lr, i.e. ChainedScheduler semantics at two cadences:
        //   o = opt(0.1); w = LinearLR(o, start_factor=0.25, total_iters=4)
        //   m = MultiStepLR(o, milestones=[2,4], gamma=0.1); out = []
        //   for e in range(6):
        //       for s in range(3): out.append(o.param_groups[0]['lr']); o.step(); w.step()
        //       m.step()
        let expected = [0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.10000000000000002,
                        0.10000000000000002, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002,
                        0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
                        0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002,
                        0.0010000000000000002]
        let spec = ScheduleSpec(.multiStep(milestones: [2, 4], gamma: 0.1), unit: .epoch,
                                warmup: LinearWarmup(steps: 4, startFactor: 0.25))
        let actual = (0..<18).map { step in spec.learningRate(base: 0.1, epoch: step / 3, step: step) }
        assertRates(actual, expected)
    }

    func testWarmupTimesMultiStepInSteps() {
        // seq(lambda o: ChainedScheduler([LinearLR(o, start_factor=0.1, total_iters=5),
        //                                 MultiStepLR(o, milestones=[3,7], gamma=0.5)]), 0.4, 10)
        // (not SequentialLR, which would run MultiStepLR only after the warm-up, on its own clock.)
        let expected = [0.04000000000000001, 0.11200000000000002, 0.18400000000000002, 0.128, 0.164, 0.2, 0.2,
                        0.1, 0.1, 0.1]
        let spec = ScheduleSpec(.multiStep(milestones: [3, 7], gamma: 0.5), unit: .step,
                                warmup: LinearWarmup(steps: 5, startFactor: 0.1))
        let actual = (0..<10).map { step in spec.learningRate(base: 0.4, epoch: 0, step: step) }
        assertRates(actual, expected)
    }

    func testWarmupFactorAndPlateauSpec() {
        let warmup = LinearWarmup(steps: 4, startFactor: 0.2)
        XCTAssertEqual(warmup.factor(atStep: 0), 0.2)
        XCTAssertEqual(warmup.factor(atStep: 2), 0.6, accuracy: 1e-15)
        XCTAssertEqual(warmup.factor(atStep: 4), 1)
        XCTAssertEqual(warmup.factor(atStep: 400), 1)
        XCTAssertEqual(LinearWarmup.none.factor(atStep: 0), 1)
        let spec = ScheduleSpec(plateau: PlateauOptions(), warmup: warmup)
        XCTAssertEqual(spec.learningRate(base: 0.1, epoch: 0, step: 0), 0.1 * 0.2, accuracy: 1e-17)
        XCTAssertEqual(spec.learningRate(base: 0.1, epoch: 3, step: 50, plateauRate: 0.01), 0.01)
        XCTAssertEqual(ScheduleSpec(.constant).learningRate(base: 0.3, epoch: 7, step: 99), 0.3)
    }

    func testValidation() throws {
        func message(_ body: () throws -> Void) -> String? {
            do { try body(); return nil } catch { return (error as? ScheduleError)?.description }
        }
        XCTAssertNil(message { try ScheduleSpec(.cosine(period: 10, minimum: 0), unit: .step,
                                                warmup: LinearWarmup(steps: 5, startFactor: 0.1)).validate() })
        XCTAssertEqual(message { try LearningRateSchedule.multiStep(milestones: [3, 3], gamma: 0.1).validate() },
                       "invalid learning-rate option milestones = [3, 3]: must be strictly increasing")
        XCTAssertEqual(message { try LearningRateSchedule.multiStep(milestones: [0, 3], gamma: 0.1).validate() },
                       "invalid learning-rate option milestones = [0, 3]: must be at least 1")
        XCTAssertEqual(message { try LearningRateSchedule.cosine(period: 0, minimum: 0).validate() },
                       "invalid learning-rate option t_max = 0: must be at least 1")
        XCTAssertEqual(message { try LearningRateSchedule.step(stepSize: 0, gamma: 0.1).validate() },
                       "invalid learning-rate option step_size = 0: must be at least 1")
        XCTAssertNotNil(message { try LearningRateSchedule.exponential(gamma: 0).validate() })
        XCTAssertEqual(message { try LinearWarmup(steps: 10, startFactor: 0).validate() },
                       "invalid learning-rate option warmup_start_factor = 0.0: must be in (0, 1]")
        XCTAssertNotNil(message { try LinearWarmup(steps: 10, startFactor: 1.5).validate() })
        XCTAssertNotNil(message { try LinearWarmup(steps: -1, startFactor: 0.5).validate() })
        XCTAssertEqual(message { _ = try ReduceLROnPlateau(options: PlateauOptions(factor: 1), learningRate: 0.1) },
                       "invalid learning-rate option factor = 1.0: must be in (0, 1)")
        XCTAssertNotNil(message { _ = try ReduceLROnPlateau(options: PlateauOptions(factor: 0), learningRate: 0.1) })
        XCTAssertEqual(message { try PlateauOptions(patience: -1).validate() },
                       "invalid learning-rate option patience = -1: must be non-negative")
        XCTAssertNotNil(message { try PlateauOptions(cooldown: -1).validate() })
        XCTAssertNotNil(message { try PlateauOptions(threshold: -0.1).validate() })
        XCTAssertNotNil(message { try PlateauOptions(minimumRate: -1).validate() })
        XCTAssertNotNil(message { try ScheduleSpec(plateau: PlateauOptions(eps: -1)).validate() })
        XCTAssertNotNil(message { _ = try EarlyStopping(patience: -1) })
    }
}
