import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a TensorBoard events file cannot be written.
public enum TensorBoardError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            return "\(path): cannot create the TensorBoard events file (\(reason))"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write to the TensorBoard events file (\(reason)); is the disk full?"
        }
    }
}

/// A TensorBoard events file, `events.out.tfevents.<unix seconds>.<hostname>` in a directory,
/// which `tensorboard --logdir` shows as one run. A new file each time: records are only ever
/// appended, and one that fails part-way is cut off so the file stays readable.
///
/// Each record goes to the file as it is added (one write, no buffer of ours): a training step
/// adds a few hundred bytes, and TensorBoard then shows what a crashed run had recorded.
/// `flush()` makes the records durable (fsync).
public final class TensorBoardEventWriter {
    public let path: String
    private let handle: FileHandle
    /// The file's length after the last whole record.
    private var length: UInt64 = 0
    private var closed = false

    /// Creates the file; a name already taken (a second file in the same second) gets `.1`, `.2`, …
    /// appended, which sorts after it, as TensorBoard reads a directory's files in name order.
    public init(directory: String, now: Date = Date(), hostname: String = ProcessInfo.processInfo.hostName) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TensorBoardError.cannotCreate(path: directory, reason: error.localizedDescription)
        }
        let host = hostname.isEmpty ? "localhost" : hostname.replacingOccurrences(of: "/", with: "_")
        let name = "events.out.tfevents.\(Int(now.timeIntervalSince1970)).\(host)"
        (path, handle) = try Self.createNew((directory as NSString).appendingPathComponent(name))
        try append(TensorBoardEvent.fileVersion(wallTime: now))
    }

    deinit { close() }

    /// Opens `base` (or `base.1`, `base.2`, …) only if it does not exist yet: never another's file.
    private static func createNew(_ base: String) throws -> (String, FileHandle) {
        for attempt in 0..<1000 {
            let candidate = attempt == 0 ? base : "\(base).\(attempt)"
            let descriptor = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if descriptor >= 0 { return (candidate, FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)) }
            if errno != EEXIST {
                throw TensorBoardError.cannotCreate(path: candidate, reason: String(cString: strerror(errno)))
            }
        }
        throw TensorBoardError.cannotCreate(path: base, reason: "it and the next 999 numbered names exist")
    }

    public func addScalar(tag: String, value: Double, step: Int, wallTime: Date = Date()) throws {
        try addScalars([(tag, value)], step: step, wallTime: wallTime)
    }

    /// Several scalars at one step, in one record. Stored as Float, as TensorBoard keeps them.
    public func addScalars(_ scalars: [(tag: String, value: Double)], step: Int, wallTime: Date = Date()) throws {
        guard !scalars.isEmpty else { return }
        let values = scalars.map { (tag: $0.tag, value: Float($0.value)) }
        try append(TensorBoardEvent.scalars(values, step: step, wallTime: wallTime))
    }

    /// Text for the text dashboard, which renders it as Markdown.
    public func addText(tag: String, text: String, step: Int, wallTime: Date = Date()) throws {
        try append(TensorBoardEvent.text(tag: tag, text, step: step, wallTime: wallTime))
    }

    /// Marks a session's start at `step` (SessionLog START): at a restart, TensorBoard drops the
    /// points earlier files recorded at `step` and after, as a resume from an older checkpoint
    /// abandoned them.
    public func addSessionStart(step: Int, wallTime: Date = Date()) throws {
        try append(TensorBoardEvent.sessionStart(step: step, wallTime: wallTime))
    }

    /// Makes what was added durable.
    public func flush() throws {
        guard !closed else { return }
        do {
            try handle.synchronize()
        } catch {
            throw TensorBoardError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        try? handle.close()
    }

    private func append(_ event: [UInt8]) throws {
        guard !closed else { throw TensorBoardError.cannotWrite(path: path, reason: "the writer was closed") }
        let record = TFRecord.frame(event)
        do {
            try handle.write(contentsOf: Data(record))
            length += UInt64(record.count)
        } catch {
            // No torn record: a reader stops at the first bad CRC and would miss every later one.
            try? handle.truncate(atOffset: length)
            throw TensorBoardError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }
}
