import Foundation

/// A reusable barrier for the threads of an in-process group (generation-counted, so a
/// fast thread re-entering the next barrier cannot slip through the previous one).
final class InProcessBarrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let parties: Int
    private var waiting = 0
    private var generation = 0

    init(parties: Int) { self.parties = parties }

    func wait() {
        condition.lock()
        defer { condition.unlock() }
        let current = generation
        waiting += 1
        if waiting == parties {
            waiting = 0
            generation += 1
            condition.broadcast()
            return
        }
        while generation == current { condition.wait() }
    }
}
