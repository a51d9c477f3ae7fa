import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Columns of the terminal standard output shows in: asked of the terminal (TIOCGWINSZ) at
/// first use and again after each SIGWINCH (the window was resized), so the live progress line
/// always fits and never wraps; COLUMNS, else 80, where the terminal does not say.
enum TerminalWidth {
    nonisolated(unsafe) private static var changed: sig_atomic_t = 1
    nonisolated(unsafe) private static var cached = 80
    nonisolated(unsafe) private static var installed = false
    private static let lock = NSLock()

    /// The width now; cheap (one ioctl after a resize, none otherwise).
    static func current() -> Int {
        lock.lock()
        defer { lock.unlock() }
        if !installed {
            installed = true
            signal(SIGWINCH) { _ in TerminalWidth.changed = 1 }
        }
        if changed != 0 {
            changed = 0
            cached = query()
        }
        return cached
    }

    private static func query() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 0
        if columns > 0 { return columns }
        return 80
    }
}
