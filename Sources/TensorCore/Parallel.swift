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

    /// Runs `body(index)` for every index in 0..<count, spread over at most
    /// `threadCount` threads. Runs inline when there is one thread or one item.
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = Swift.min(threadCount, count)
        if threads <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        runParts(threads) { worker in
            // Contiguous ranges per worker: deterministic assignment, good locality.
            let start = worker * count / threads
            let end = (worker + 1) * count / threads
            for i in start..<end { body(i) }
        }
    }

    /// Splits 0..<count into at most `threadCount` contiguous ranges and runs one per thread.
    @inlinable
    public static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let threads = Swift.max(1, Swift.min(threadCount, count / Swift.max(1, minimumChunk)))
        if threads <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        runParts(threads) { worker in
            let start = worker * count / threads
            let end = (worker + 1) * count / threads
            if start < end { body(start..<end) }
        }
    }

    /// Runs `body(part)` for every part in 0..<parts at once: on the persistent worker pool,
    /// or through Dispatch when the pool is busy with another caller.
    @usableFromInline
    static func runParts(_ parts: Int, _ body: (Int) -> Void) {
        if WorkerPool.shared.run(parts: parts, body) { return }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: parts, execute: body)
        }
    }
}
