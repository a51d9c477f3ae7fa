import Dispatch

#if canImport(Glibc)
import Glibc
#endif

// Every kernel parallelises through `Parallel.forEach`, over large independent chunks
// (batch items, channels, GEMM tiles), never per element, on persistent worker threads
// (WorkerPool) with Dispatch as the fallback.

public enum Parallel {
    /// Number of worker threads kernels may use. Defaults to all online cores.
    nonisolated(unsafe) public static var threadCount: Int = Parallel.onlineCores

    public static var onlineCores: Int {
        #if canImport(Glibc)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        #endif
    }

    /// Runs `body.run` over 0..<count split into at most `threadCount` contiguous ranges
    /// (fewer when a range would hold fewer than `minimumChunk` indices), one per thread.
    /// Allocates nothing: the form for kernels on the training step.
    public static func forEachRange<Body: ParallelBody>(_ count: Int, minimumChunk: Int = 1, _ body: Body) {
        let threads = Swift.max(1, Swift.min(threadCount, count / Swift.max(1, minimumChunk)))
        if threads <= 1 {
            if count > 0 { body.run(0..<count) }
            return
        }
        let parts = ContiguousParts(body: body, count: count, parts: threads)
        if WorkerPool.shared.run(parts) { return }
        // The pool is busy (ranks as threads of one process, or a nested region).
        DispatchQueue.concurrentPerform(iterations: threads) { parts.run(part: $0) }
    }

    /// Runs `body(index)` for every index in 0..<count, spread over at most `threadCount`
    /// threads in contiguous ranges. Runs inline when there is one thread or one item.
    /// Boxes the closure once per call: kernels on the training step pass a `ParallelBody`.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forEachRange(count) { range in
            for i in range { body(i) }
        }
    }

    /// Closure form of `forEachRange(_:minimumChunk:_:)` (one allocation per parallel call).
    public static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if threadCount <= 1 || count / Swift.max(1, minimumChunk) <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            forEachRange(count, minimumChunk: minimumChunk, ClosureBody(body: body))
        }
    }
}
