// Float32 buffers the size of a whole layer input or output, for kernels that work in Float32
// where the layer keeps bf16 bits (a bf16 convolution on the Winograd or direct kernel): its
// input widened into one, its output written into another and then converted to bits.
//
// Not a ScratchPool: a pool keeps a buffer per worker thread, each at the largest size asked
// for, and whole tensors would multiply the memory the bf16 storage saves by the thread count.
// A process trains one rank's layers one at a time (one buffer per role), or with `--workers`
// one rank per thread: a buffer per rank then, each grown to the largest tensor it has held.

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

    private var free: [ScratchBuffer] = []
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

    /// Runs `body` with at least `count` floats (contents unspecified): a buffer no one else
    /// holds, the largest free one, or a new one when all are held.
    func withBuffer<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        let buffer = free.popLast() ?? ScratchBuffer(capacity: count)
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            free.append(buffer)
            free.sort { $0.capacity < $1.capacity }
            pthread_mutex_unlock(mutex)
        }
        return try body(buffer.reserve(count))
    }
}
