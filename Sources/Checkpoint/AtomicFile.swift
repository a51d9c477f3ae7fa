import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that a crash at any moment leaves either the old file or the new one,
/// never a torn mix: write to a temporary file beside it, fsync, rename over, fsync the directory.
public enum AtomicFile {
    /// Removes the temporary files that writers killed mid-write left in `directory` (`.NAME.tmp-PID`
    /// of a process that no longer runs); returns their names.
    @discardableResult
    public static func removeOrphans(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid > 0 else { return false }
            // kill(pid, 0) fails with ESRCH when no such process exists.
            guard kill(pid, 0) != 0 && errno == ESRCH else { return false }
            let path = (directory as NSString).appendingPathComponent(name)
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }
    }

    public static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/." + (path as NSString).lastPathComponent
            + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                written += n
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = "fsync: " + String(cString: strerror(errno)) }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw CheckpointError.writeFailed(path: path, reason: failure)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError.writeFailed(path: path, reason: "rename: " + reason)
        }
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
