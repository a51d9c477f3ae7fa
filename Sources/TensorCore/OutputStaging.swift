// One Float32 buffer the size of a whole layer output, for kernels that write Float32 where
// the layer keeps bf16 bits (a convolution's bf16 output from the Winograd or direct kernel):
// the kernel writes here, and a conversion pass writes the bits.
//
// Not a ScratchPool: a pool keeps a buffer per thread, each at the largest size asked for, and
// whole outputs would multiply the memory the bf16 storage saves by the thread count. Layers
// run one at a time, so one buffer, grown to the largest output, serves them all.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class OutputStaging: @unchecked Sendable {
    static let shared = OutputStaging()

    private let buffer = ScratchBuffer(capacity: 0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with at least `count` floats (contents unspecified). Callers on other threads
    /// wait their turn; `body` must not ask for the buffer again.
    func withBuffer<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(buffer.reserve(count))
    }
}
