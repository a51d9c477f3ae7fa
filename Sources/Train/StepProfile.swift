import Foundation
import NN
import TensorCore

/// `train --profile-steps N`: the layer profile of N training steps after the first (whose
/// allocations and caches are cold), with the loss, optimizer, all-reduce wait and the wait for
/// data beside the layers; reported once, then training goes on unprofiled.
final class StepProfile {
    let profiler = LayerProfiler()
    let steps: Int
    private(set) var done = 0
    var stepSeconds = 0.0, lossSeconds = 0.0, optimizerSeconds = 0.0, waitSeconds = 0.0, dataSeconds = 0.0
    private var firstStep: Int?

    init(steps: Int) {
        self.steps = steps
    }

    /// Whether global step `step` (1-based) is profiled: the N after the session's first.
    func covers(step: Int) -> Bool {
        if firstStep == nil { firstStep = step + 1 }
        guard let firstStep else { return false }
        return step >= firstStep && step < firstStep + steps
    }

    var isComplete: Bool { done == steps }

    func add(stepSeconds: Double, dataSeconds: Double, waitSeconds: Double) {
        self.stepSeconds += stepSeconds + dataSeconds
        self.dataSeconds += dataSeconds
        self.waitSeconds += waitSeconds
        done += 1
    }

    /// Parts of a step outside the layers that the trainer times.
    enum Section {
        case loss, optimizer
    }

    /// `body`, its time added to `section`'s total.
    func time<T>(_ section: Section, _ body: () -> T) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        switch section {
        case .loss: lossSeconds += seconds
        case .optimizer: optimizerSeconds += seconds
        }
        return result
    }

    func report(model: Model, batch: Int) throws -> LayerProfile {
        try LayerProfile(
            model: model, profiler: profiler, batch: batch, threads: Parallel.threadCount, steps: done,
            stepSeconds: stepSeconds, lossSeconds: lossSeconds, optimizerSeconds: optimizerSeconds,
            waitSeconds: waitSeconds, dataSeconds: dataSeconds)
    }
}
