import Foundation

/// The `checkpoints/` directory of a run: `step-NNNNNNNNN.safetensors` files (the last
/// `keepLast` kept), `best.safetensors` for the monitored metric, and `latest`, a one-line
/// pointer to the newest file. Every write is atomic (temporary file, fsync, rename, fsync
/// of the directory), so a crash leaves the previous checkpoint and pointer intact.
public final class CheckpointStore {
    public let directory: String
    public let keepLast: Int

    public init(runDirectory: String, keepLast: Int) throws {
        directory = (runDirectory as NSString).appendingPathComponent("checkpoints")
        self.keepLast = keepLast
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError.writeFailed(path: directory, reason: "cannot be created (\(error.localizedDescription))")
        }
        // Left by a writer killed mid-write (the renamed files are whole; these never will be).
        AtomicFile.removeOrphans(in: directory)
        AtomicFile.removeOrphans(in: runDirectory)
    }

    public static func fileName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits + ".safetensors"
    }

    /// Writes a checkpoint for `step`, points `latest` at it, and prunes older ones.
    @discardableResult
    public func save(_ bytes: Data, step: Int) throws -> String {
        let name = CheckpointStore.fileName(step: step)
        let path = (directory as NSString).appendingPathComponent(name)
        try AtomicFile.write(bytes, to: path)
        try AtomicFile.write(Data((name + "\n").utf8), to: (directory as NSString).appendingPathComponent("latest"))
        prune(keeping: name)
        return path
    }

    public func saveBest(_ bytes: Data) throws {
        try AtomicFile.write(bytes, to: (directory as NSString).appendingPathComponent("best.safetensors"))
    }

    private func prune(keeping newest: String) {
        let steps = stepFiles()
        guard steps.count > keepLast else { return }
        for name in steps.dropLast(keepLast) where name != newest {
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }

    /// Step checkpoint names, oldest first.
    public func stepFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
    }

    /// The checkpoint `latest` points at; when the pointer is missing or names no file, the
    /// newest step file that reads and verifies (a pointer lost with the rest intact is no reason
    /// to start over).
    public static func latest(inRunDirectory runDirectory: String) throws -> String {
        let directory = (runDirectory as NSString).appendingPathComponent("checkpoints")
        let pointer = (directory as NSString).appendingPathComponent("latest")
        if let text = try? String(contentsOfFile: pointer, encoding: .utf8) {
            let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, !name.contains("/") else {
                throw CheckpointError.malformed(path: pointer, reason: "does not name a checkpoint file")
            }
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.filter({ $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }).sorted().reversed() {
            let path = (directory as NSString).appendingPathComponent(name)
            if (try? CheckpointFile.load(path: path)) != nil { return path }
        }
        throw CheckpointError.unreadable(path: pointer)
    }

    /// The file a checkpoint argument names: itself, or for a run directory its
    /// `checkpoints/best.safetensors` where there is one, else the checkpoint `latest` points at.
    public static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        let best = ((path as NSString).appendingPathComponent("checkpoints") as NSString)
            .appendingPathComponent("best.safetensors")
        return FileManager.default.fileExists(atPath: best) ? best : try latest(inRunDirectory: path)
    }

    /// True when the run directory already holds a run's checkpoints.
    public static func hasCheckpoints(runDirectory: String) -> Bool {
        let directory = (runDirectory as NSString).appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.contains { $0 == "latest" || $0.hasSuffix(".safetensors") }
    }
}
