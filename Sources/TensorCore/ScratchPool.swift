// Reusable scratch memory for kernels (GEMM packing panels, im2col columns, partial sums).
//
// A training step calls the same kernels with the same sizes over and over, so buffers
// are borrowed from a pool and returned, growing on demand: once every size has been seen
// (the first step), no call allocates. The pool is shared by all threads; a borrowed
// buffer belongs to one thread until it is returned, so kernels running inside a
// batch-parallel loop each get their own.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 64-byte aligned Float storage that grows (contents discarded) when asked for more.
final class ScratchBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        pointer = ScratchBuffer.allocate(self.capacity)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        // 64-byte alignment: SIMD loads from packed panels never split a cache line.
        UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
    }

    /// Storage for at least `count` floats; contents are unspecified.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            UnsafeMutableRawPointer(pointer).deallocate()
            // Grow geometrically so a slowly growing sequence of requests settles quickly.
            capacity = Swift.max(count, capacity + capacity / 2)
            pointer = ScratchBuffer.allocate(capacity)
        }
        return pointer
    }
}

/// A thread-safe pool of `ScratchBuffer`s.
///
/// Every buffer handed out holds at least the largest request the pool has seen: which
/// thread gets which buffer varies from call to call, and without this a small buffer could
/// meet a large request (and be reallocated) many steps after warm-up.
final class ScratchPool: @unchecked Sendable {
    private var free: [ScratchBuffer] = []
    private var largestRequest = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        free.reserveCapacity(64)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Borrows a buffer (the largest free one) and the size to reserve in it.
    func borrow(_ count: Int) -> (buffer: ScratchBuffer, size: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        largestRequest = Swift.max(largestRequest, count)
        guard !free.isEmpty else { return (ScratchBuffer(capacity: largestRequest), largestRequest) }
        var best = free.count - 1
        for i in free.indices where free[i].capacity > free[best].capacity { best = i }
        free.swapAt(best, free.count - 1)
        return (free.removeLast(), largestRequest)
    }

    func giveBack(_ buffer: ScratchBuffer) {
        pthread_mutex_lock(mutex)
        free.append(buffer)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` with at least `count` floats of scratch memory (contents unspecified).
    @inline(__always)
    func withScratch<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result) rethrows -> Result {
        let (buffer, size) = borrow(count)
        defer { giveBack(buffer) }
        return try body(buffer.reserve(size))
    }
}
