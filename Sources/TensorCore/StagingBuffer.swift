// Float32 buffers the size of a whole layer input or output, for kernels that work in Float32
// where the layer keeps bf16 bits (a bf16 convolution on the Winograd or direct kernel): its
// input widened into one, its output written into the other and then converted to bits.
//
// Not a ScratchPool: a pool keeps a buffer per thread, each at the largest size asked for, and
// whole tensors would multiply the memory the bf16 storage saves by the thread count. Layers
// run one at a time, so one buffer per role, grown to the largest tensor, serves them all.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class StagingBuffer: @unchecked Sendable {
    /// A convolution's input, widened from bf16 bits.
    static let input = StagingBuffer()
    /// A convolution's output, before it is converted to bf16 bits.
    static let output = StagingBuffer()

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
