import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a run's messages go, filtered by level. On a terminal, progress rewrites one live
/// line in place (`status`); every ordinary message first clears that line, so an epoch's
/// summary replaces its progress line.
public final class Logger: @unchecked Sendable {
    /// Most to least severe; a logger prints messages at its level and above.
    public enum Level: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
        case error, warning, info, debug

        public init?(name: String) {
            guard let level = Level.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
            self = level
        }

        public var description: String {
            switch self {
            case .error: return "error"
            case .warning: return "warning"
            case .info: return "info"
            case .debug: return "debug"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public let level: Level
    /// Output goes to a terminal: progress is one live line rewritten in place instead of plain lines.
    public let isTerminal: Bool
    /// Receives the exact text to write (newlines and terminal controls included) and its level.
    private let output: (Level, String) -> Void
    private let lock = NSLock()
    private var liveLineShown = false
    /// Characters of the live line last written: after the window narrows it may span rows.
    private var liveLineLength = 0
    /// Columns of the terminal (asked again after each resize).
    public let terminalWidth: () -> Int

    public init(level: Level = .info, isTerminal: Bool = false, terminalWidth: @escaping () -> Int = { 80 },
                output: @escaping (Level, String) -> Void) {
        self.level = level
        self.isTerminal = isTerminal
        self.terminalWidth = terminalWidth
        self.output = output
    }

    /// Messages as lines (no trailing newline) to a closure, every level down to `level`; never a terminal.
    public convenience init(level: Level = .info, lines: @escaping (String) -> Void) {
        self.init(level: level, isTerminal: false) { _, text in lines(String(text.dropLast())) }
    }

    /// Prints nothing.
    public static var silent: Logger { Logger(level: .error, isTerminal: false) { _, _ in } }

    /// This process's standard output (info, debug) and standard error (warnings, errors);
    /// `isTerminal`: standard output is an interactive terminal (the caller knows: a rank started by
    /// mpirun has a pseudo-terminal that is not one).
    public static func standard(level: Level = .info, isTerminal: Bool = false) -> Logger {
        Logger(level: level, isTerminal: isTerminal, terminalWidth: TerminalWidth.current) { level, text in
            let stream = level <= .warning ? stderr : stdout
            fputs(text, stream)
            fflush(stream)
        }
    }

    public func shows(_ level: Level) -> Bool { level <= self.level }

    public func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard shows(level) else { return }
        lock.lock()
        defer { lock.unlock() }
        let prefix = liveLineShown ? TerminalLine.clear : ""
        liveLineShown = false
        output(level, prefix + message() + "\n")
    }

    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }

    /// Ends a live line with a newline, so that what comes next (an error on standard error) starts a line of its own.
    public func endLiveLine() {
        lock.lock()
        defer { lock.unlock() }
        if liveLineShown { output(.info, "\n") }
        liveLineShown = false
    }

    /// Replaces the live line with `text` (terminal only, at info level or more verbose).
    public func status(_ text: @autoclosure () -> String) {
        status(fitting: { _ in text() })
    }

    /// Replaces the live line with the text `make` gives for the terminal's width now. A line
    /// drawn before the window narrowed has wrapped onto rows above: those are cleared too.
    public func status(fitting make: (Int) -> String) {
        guard isTerminal, shows(.info) else { return }
        lock.lock()
        defer { lock.unlock() }
        let width = max(1, terminalWidth())
        let text = make(width)
        let rowsAbove = liveLineShown ? max(0, (liveLineLength - 1) / width) : 0
        liveLineShown = true
        liveLineLength = text.count
        let clearAbove = String(repeating: TerminalLine.clear + TerminalLine.up, count: rowsAbove)
        output(.info, clearAbove + TerminalLine.rewrite(text))
    }
}

/// Terminal control for one line rewritten in place.
public enum TerminalLine {
    /// Carriage return, then erase the whole line (ANSI EL2).
    public static let clear = "\r\u{1B}[2K"
    /// Cursor up one row (ANSI CUU).
    public static let up = "\u{1B}[1A"

    /// What rewrites the current line with `text`, leaving the cursor at its end (no newline).
    public static func rewrite(_ text: String) -> String { clear + text }
}
