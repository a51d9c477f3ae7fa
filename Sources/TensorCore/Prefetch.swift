import CAtomics

// Software prefetch for the layers above TensorCore, which by DESIGN.md depend on TensorCore
// alone, not on its C modules.

public enum Prefetch {
    /// The most lines one call asks for: a short run is what the hardware prefetchers miss; a
    /// longer one they pick up once it has started.
    public static let maximumLines = 16

    /// Asks for the cache lines holding `bytes` bytes from `start` (the first `maximumLines` of
    /// them) to be loaded for reading. Use before a loop that will soon read a short run
    /// elsewhere (the next channel's plane of each image: 196 bytes at 7x7, 784 at 14x14).
    /// Nothing for `bytes` ≤ 0.
    public static func forReading(_ start: UnsafeRawPointer, bytes: Int) {
        let address = UInt(bitPattern: start)
        let firstLine = address & ~63
        for line in 0..<lineCount(address: address, bytes: bytes) {
            cnn_prefetch(UnsafeRawPointer(bitPattern: firstLine + UInt(line) * 64))
        }
    }

    /// The 64-byte lines `forReading` asks for: those the run touches (one more than
    /// bytes / 64 when it starts late in a line), at most `maximumLines`.
    static func lineCount(address: UInt, bytes: Int) -> Int {
        guard bytes > 0 else { return 0 }
        let touched = (Int(address & 63) + bytes + 63) / 64
        return Swift.min(maximumLines, touched)
    }
}
