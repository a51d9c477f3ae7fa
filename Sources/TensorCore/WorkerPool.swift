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

    /// Pause instructions a waiting thread spins through before it sleeps (tests set 0).
    static var spinLimit: Int {
        get { cnn_atomic_load(spinLimitStorage) }
        set { cnn_atomic_store(spinLimitStorage, newValue) }
    }
    private static let spinLimitStorage: UnsafeMutablePointer<Int> = {
        let storage = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        storage.initialize(to: 2_000)
        return storage
    }()

    /// The most parts a region the pool runs may have (`RegionWord`'s part field).
    static let maximumParts = RegionWord.partMask

    private let owner = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The current region's `RegionWord`, stored (release, under `mutex`) when it starts.
    private let region = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// Worker parts of the current region not yet finished (atomic).
    private let remaining = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// Written by the caller before it publishes the region, read only by the workers the
    /// region uses; the caller writes it again only after they have all finished.
    private var job: Job?
    private var started = 0

    private init() {
        pthread_mutex_init(owner, nil)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        region.initialize(to: 0)
        remaining.initialize(to: 0)
    }

    /// Runs every part of `parts`, part 0 on the calling thread; false (having run nothing)
    /// when the pool is busy or cannot start the workers it needs. The workers read the parts through a pointer to this frame:
    /// nothing is allocated, and the region ends before the frame does.
    func run<Body: ParallelBody>(_ parts: ContiguousParts<Body>) -> Bool {
        guard parts.parts <= WorkerPool.maximumParts, pthread_mutex_trylock(owner) == 0 else { return false }
        defer { pthread_mutex_unlock(owner) }
        // Without enough workers (the system refused a thread) the region goes to Dispatch.
        guard startWorkers(parts.parts - 1) else { return false }
        withUnsafePointer(to: parts) { pointer in
            // A worker that a region does not use never reads `job`: it learns the region's
            // part count from the same word as its number. An earlier design published the
            // count beside the job under a seqlock, and idle workers that read late ran a part
            // twice (GEMMTests saw C += A·B added twice, once in CI; ParallelTests once).
            job = Job(parts: UnsafeRawPointer(pointer), runner: PartRunner<Body>.self)
            cnn_atomic_store(remaining, parts.parts - 1)
            let next = RegionWord(cnn_atomic_load(region)).next(parts: parts.parts)
            pthread_mutex_lock(mutex)
            cnn_atomic_store(region, next.value)
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

    /// Starts workers until `needed` run; false if the system refuses a thread (the workers
    /// started so far stay, and a later region may try again).
    private func startWorkers(_ needed: Int) -> Bool {
        while started < needed {
            let index = started + 1
            var thread = pthread_t()
            // The worker waits for regions after the last one: the region about to start included.
            let last = RegionWord(cnn_atomic_load(region)).number
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: index, lastRegion: last))
            let created = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index, lastRegion: start.lastRegion)
                return nil
            }, box.toOpaque())
            guard created == 0 else {
                box.release()
                return false
            }
            pthread_detach(thread)
            started = index
        }
        return true
    }

    private func workerLoop(index: Int, lastRegion: Int) {
        var seen = lastRegion
        while true {
            let current = waitForRegion(after: seen)
            seen = current.number
            // The caller waits for this part, so `job` stays this region's until it is done.
            guard index < current.parts, let regionJob = job else { continue }
            regionJob.runner.run(regionJob.parts, part: index)
            if cnn_atomic_fetch_add(remaining, -1) == 1 {
                // The last worker out wakes a caller that went to sleep.
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Waits until a region numbered after `seen` starts (spinning, then sleeping) and returns
    /// the word that said so: the number and part count always come from one load.
    private func waitForRegion(after seen: Int) -> RegionWord {
        for _ in 0..<WorkerPool.spinLimit {
            let current = RegionWord(cnn_atomic_load(region))
            if current.number != seen { return current }
            cnn_spin_pause()
        }
        pthread_mutex_lock(mutex)
        // The word is stored under the mutex with a broadcast: no start is missed.
        var current = RegionWord(cnn_atomic_load(region))
        while current.number == seen {
            pthread_cond_wait(wake, mutex)
            current = RegionWord(cnn_atomic_load(region))
        }
        pthread_mutex_unlock(mutex)
        return current
    }
}

/// A region's number and part count packed in one word (number above the low 16 bits), so a
/// worker learns both from one atomic load and never pairs one region's number with another's
/// count. Numbers wrap after 2^47 regions, centuries of steps.
private struct RegionWord {
    static let partBits = 16
    static let partMask = (1 << partBits) - 1

    let value: Int

    init(_ value: Int) { self.value = value }

    var number: Int { value >> RegionWord.partBits }
    var parts: Int { value & RegionWord.partMask }

    /// The word for the region after this one, with `parts` parts.
    func next(parts: Int) -> RegionWord {
        RegionWord((number &+ 1) << RegionWord.partBits | parts)
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
    let lastRegion: Int

    init(pool: WorkerPool, index: Int, lastRegion: Int) {
        self.pool = pool
        self.index = index
        self.lastRegion = lastRegion
    }
}
