import CAtomics

// Software prefetch for the layers above TensorCore, which do not see the C module.

public enum Prefetch {
    /// The most lines one call asks for: a short run is what the hardware prefetchers miss; a
    /// longer one they pick up once it has started.
    public static let maximumLines = 16

    /// Asks for the cache lines of `bytes` bytes from `start` (at most `maximumLines` of them) to
    /// be loaded for reading. Use before a loop that will soon read a short run elsewhere (the
    /// next channel's plane of each image: 196 bytes at 7x7, 784 at 14x14).
    public static func forReading(_ start: UnsafeRawPointer, bytes: Int) {
        let lines = Swift.min(maximumLines, (bytes + 63) / 64)
        for line in 0..<lines { cnn_prefetch(start + line * 64) }
    }
}
