#if canImport(Glibc)
import Glibc
#endif

/// Persistent worker threads behind `Parallel`: a parallel region wakes the sleeping workers
/// instead of going through Dispatch, which allocates its work items on every call (about
/// 700 heap allocations per ResNet-20 step at 2 threads) and adds wake-up latency to small
/// layers. The calling thread runs part 0 itself; worker w runs part w.
///
/// One region at a time: a caller that finds the pool busy (ranks running as threads of one
/// process, or a region nested inside another) falls back to Dispatch, so nothing ever waits
/// on itself.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private let owner = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var generation = 0
    private var job: Job?
    private var parts = 0
    private var remaining = 0
    private var started = 0

    private init() {
        pthread_mutex_init(owner, nil)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    /// Runs every part of `parts`, part 0 on the calling thread; false (having run nothing)
    /// when the pool is busy. The workers read the parts through a pointer to this frame:
    /// nothing is allocated, and the region ends before the frame does.
    func run<Body: ParallelBody>(_ parts: ContiguousParts<Body>) -> Bool {
        guard pthread_mutex_trylock(owner) == 0 else { return false }
        defer { pthread_mutex_unlock(owner) }
        startWorkers(parts.parts - 1)
        withUnsafePointer(to: parts) { pointer in
            pthread_mutex_lock(mutex)
            job = Job(parts: UnsafeRawPointer(pointer), runner: PartRunner<Body>.self)
            self.parts = parts.parts
            remaining = parts.parts - 1
            generation &+= 1
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            parts.run(part: 0)
            pthread_mutex_lock(mutex)
            while remaining > 0 { pthread_cond_wait(done, mutex) }
            job = nil
            pthread_mutex_unlock(mutex)
        }
        return true
    }

    private func startWorkers(_ needed: Int) {
        while started < needed {
            started += 1
            let index = started
            var thread = pthread_t()
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index))
            pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, box.toOpaque())
            pthread_detach(thread)
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen { pthread_cond_wait(wake, mutex) }
            seen = generation
            guard index < parts, let job else { continue }
            pthread_mutex_unlock(mutex)
            job.runner.run(job.parts, part: index)
            pthread_mutex_lock(mutex)
            remaining -= 1
            if remaining == 0 { pthread_cond_signal(done) }
        }
    }
}

/// A region's work: the address of a `ContiguousParts` in the caller's frame and the
/// function that runs one of its parts, chosen by the parts' type.
private struct Job {
    let parts: UnsafeRawPointer
    let runner: any PartRunning.Type
}

private protocol PartRunning {
    static func run(_ parts: UnsafeRawPointer, part: Int)
}

private enum PartRunner<Body: ParallelBody>: PartRunning {
    static func run(_ parts: UnsafeRawPointer, part: Int) {
        parts.assumingMemoryBound(to: ContiguousParts<Body>.self).pointee.run(part: part)
    }
}

/// What a new worker thread needs, passed through pthread_create's single pointer.
private final class WorkerStart {
    let pool: WorkerPool
    let index: Int

    init(pool: WorkerPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}
