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
            capacity = count
            pointer = ScratchBuffer.allocate(capacity)
        }
        return pointer
    }
}

/// A thread-safe pool of `ScratchBuffer`s.
///
/// Which buffer a thread gets, and how many are out at once, depends on timing. So that no
/// step allocates after warm-up whatever the timing, the pool keeps at least one buffer more
/// than there are threads (a kernel's own buffer plus one per worker), and every buffer at
/// the largest size requested so far: buffers grow together when a larger request arrives.
final class ScratchPool: @unchecked Sendable {
    private var free: [ScratchBuffer] = []
    private var created = 0
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

    /// Borrows a buffer of at least `count` floats.
    func borrow(_ count: Int) -> ScratchBuffer {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if count > largestRequest {
            largestRequest = count
            for buffer in free { _ = buffer.reserve(count) }
        }
        while created < Parallel.threadCount + 1 {
            free.append(ScratchBuffer(capacity: largestRequest))
            created += 1
        }
        guard let buffer = free.popLast() else {
            created += 1
            return ScratchBuffer(capacity: largestRequest)
        }
        _ = buffer.reserve(largestRequest)
        return buffer
    }

    func giveBack(_ buffer: ScratchBuffer) {
        pthread_mutex_lock(mutex)
        free.append(buffer)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` with at least `count` floats of scratch memory (contents unspecified).
    @inline(__always)
    func withScratch<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result) rethrows -> Result {
        let buffer = borrow(count)
        defer { giveBack(buffer) }
        return try body(buffer.pointer)
    }
}
