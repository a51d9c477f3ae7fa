import Foundation

/// Log lines collected from any thread.
public final class LockedLines: @unchecked Sendable {
    public init() {}
    private let lock = NSLock()
    private var stored: [String] = []

    public func append(_ line: String) {
        lock.lock()
        stored.append(line)
        lock.unlock()
    }

    public var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
