import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One run per folder: rank 0 holds an exclusive `flock` on `<run>/.lock` for the job's life, so a
/// second run (a fresh one into the same `--run-dir`, or a requeued `--resume` while the old job
/// still runs) is refused instead of mixing checkpoints and metrics. The file names its holder
/// (host, pid, start time) for the refusal. The kernel drops the lock when its process dies, so a
/// lock left by a killed job never blocks; on file systems without `flock` the recorded pid is
/// checked instead (alive on this host: refused; dead: taken over).
final class RunFolderLock {
    static let fileName = ".lock"
    private var descriptor: Int32

    init(folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(Self.fileName)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw TrainError.runDirectory(
                path: folder,
                reason: "cannot create its lock file \(Self.fileName): "
                    + String(cString: strerror(errno)))
        }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let reason = errno
            let holder = Self.holder(descriptor)
            if reason == EWOULDBLOCK {
                close(descriptor)
                let named = holder ?? "holder unknown"
                throw TrainError.runDirectory(
                    path: folder,
                    reason: "is in use by another run (\(named)); wait for "
                        + "it to end, or choose another --run-dir")
            }
            // No flock here (some network file systems): judge by the recorded holder.
            if let pid = Self.livePIDOnThisHost(holder) {
                close(descriptor)
                throw TrainError.runDirectory(
                    path: folder,
                    reason: "is in use by another run (pid \(pid) on this "
                        + "host, recorded in \(Self.fileName); this file system has no flock)")
            }
        }
        let host = ProcessInfo.processInfo.hostName
        let since = ISO8601DateFormatter().string(from: Date())
        let record = "pid \(getpid()) on host \(host) since \(since)\n"
        _ = ftruncate(descriptor, 0)
        _ = record.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit { release() }

    /// Ends the claim (the lock file stays: removing it would race with a newcomer's open).
    func release() {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        close(descriptor)
        descriptor = -1
    }

    /// What the lock file says about its holder ("pid 1234 on host node7 since …").
    private static func holder(_ descriptor: Int32) -> String? {
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// The holder's pid when it was recorded on this host and that process still runs.
    private static func livePIDOnThisHost(_ holder: String?) -> Int32? {
        guard let words = holder?.split(separator: " "), words.count >= 5, words[0] == "pid",
            let pid = Int32(words[1]), words[3] == "host", words[4] == ProcessInfo.processInfo.hostName[...],
            pid != getpid(), kill(pid, 0) == 0 || errno == EPERM
        else { return nil }
        return pid
    }
}
