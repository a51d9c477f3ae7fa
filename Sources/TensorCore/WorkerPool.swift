import CAtomics

#if canImport(Glibc)
import Glibc
#endif

/// Persistent worker threads behind `Parallel`: a parallel region wakes the sleeping workers
/// instead of going through Dispatch, which allocates its work items on every call (about
/// 700 heap allocations per ResNet-20 step at 2 threads) and adds wake-up latency to small
/// layers. The calling thread runs part 0 itself; worker w runs part w.
///
/// A training step runs its regions back to back, microseconds apart, so waiting threads
/// spin briefly (`spinLimit` pauses, some tens of microseconds) before they sleep: waking a
/// sleeping thread costs more than a small layer's whole region. Sleeping uses a mutex and
/// condition variables, so idle pools cost nothing.
///
/// One region at a time: a caller that finds the pool busy (ranks running as threads of one
/// process, or a region nested inside another) falls back to Dispatch, so nothing ever waits
/// on itself.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// Pause instructions a waiting thread spins through before it sleeps.
    nonisolated(unsafe) static var spinLimit = 2_000

    private let owner = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// A seqlock over the region's fields: odd while the caller writes them, bumped again to
    /// even (under `mutex`, read atomically) when the region starts.
    private let generation = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// Worker parts of the current region not yet finished (atomic).
    private let remaining = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    // Written by the caller before it bumps `generation`, read by workers after they see it.
    private var job: Job?
    private var parts = 0
    private var started = 0

    private init() {
        pthread_mutex_init(owner, nil)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        generation.initialize(to: 0)
        remaining.initialize(to: 0)
    }

    /// Runs every part of `parts`, part 0 on the calling thread; false (having run nothing)
    /// when the pool is busy. The workers read the parts through a pointer to this frame:
    /// nothing is allocated, and the region ends before the frame does.
    func run<Body: ParallelBody>(_ parts: ContiguousParts<Body>) -> Bool {
        guard pthread_mutex_trylock(owner) == 0 else { return false }
        defer { pthread_mutex_unlock(owner) }
        startWorkers(parts.parts - 1)
        withUnsafePointer(to: parts) { pointer in
            // Odd first: a worker the last region did not use may only now be reading the
            // fields for that region's generation. Without the mark it could take this region's
            // job under the old generation, run its part, and run it again once this one is
            // published (a part run twice: GEMMTests saw C += A·B added twice, once in CI).
            cnn_atomic_store(generation, generation.pointee &+ 1)
            cnn_atomic_release_fence()
            job = Job(parts: UnsafeRawPointer(pointer), runner: PartRunner<Body>.self)
            self.parts = parts.parts
            cnn_atomic_store(remaining, parts.parts - 1)
            pthread_mutex_lock(mutex)
            cnn_atomic_store(generation, generation.pointee &+ 1)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            parts.run(part: 0)
            waitForWorkers()
            job = nil
        }
        return true
    }

    /// Returns once every worker part of the region has finished: spinning, then sleeping.
    private func waitForWorkers() {
        var spins = 0
        while cnn_atomic_load(remaining) > 0 {
            if spins < WorkerPool.spinLimit {
                cnn_spin_pause()
                spins += 1
                continue
            }
            pthread_mutex_lock(mutex)
            while cnn_atomic_load(remaining) > 0 { pthread_cond_wait(done, mutex) }
            pthread_mutex_unlock(mutex)
        }
    }

    private func startWorkers(_ needed: Int) {
        while started < needed {
            started += 1
            let index = started
            var thread = pthread_t()
            // The worker waits for regions after the current one: the region about to start included.
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index, generation: cnn_atomic_load(generation)))
            pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index, seen: start.generation)
                return nil
            }, box.toOpaque())
            pthread_detach(thread)
        }
    }

    private func workerLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            let current = waitForRegion(after: seen)
            let regionParts = parts, regionJob = job
            // A worker the region does not use may look late, while the caller already
            // writes the next region: if the generation moved (to odd, or on), read again.
            cnn_atomic_acquire_fence()
            guard cnn_atomic_load(generation) == current else { continue }
            seen = current
            guard index < regionParts, let regionJob else { continue }
            regionJob.runner.run(regionJob.parts, part: index)
            if cnn_atomic_fetch_add(remaining, -1) == 1 {
                // The last worker out wakes a caller that went to sleep.
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Waits until a region newer than `seen` starts (spinning, then sleeping); returns its
    /// generation, always even (published).
    private func waitForRegion(after seen: Int) -> Int {
        @inline(__always) func started(_ current: Int) -> Bool { current != seen && current & 1 == 0 }
        for _ in 0..<WorkerPool.spinLimit {
            let current = cnn_atomic_load(generation)
            if started(current) { return current }
            cnn_spin_pause()
        }
        pthread_mutex_lock(mutex)
        // The even bump happens under the mutex with a broadcast, so waiting past an odd one is
        // safe. Return the value checked, never a second load: the odd bump is made outside the
        // mutex, so a second load could return the next region's unpublished generation, whose
        // part this worker would run early and then again once it is published.
        var current = cnn_atomic_load(generation)
        while !started(current) {
            pthread_cond_wait(wake, mutex)
            current = cnn_atomic_load(generation)
        }
        pthread_mutex_unlock(mutex)
        return current
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
    let generation: Int

    init(pool: WorkerPool, index: Int, generation: Int) {
        self.pool = pool
        self.index = index
        self.generation = generation
    }
}
