import Checkpoint
import Foundation

/// Where a run lives when the config names no `run_dir`: `runs/<name>/version_N`, a new N for
/// every fresh run (Lightning's layout), so that repeating a command never collides with the
/// run before it; `--resume` without a path continues the newest version that has checkpoints.
public enum RunFolders {
    public static let root = "runs"

    /// The folder holding the versions of the runs called `name` (a config file's stem, or "default").
    public static func base(name: String) -> String { (root as NSString).appendingPathComponent(name) }

    /// Creates and returns the next free `version_N` under `base` (created with the folder
    /// itself, so that two runs starting together get different versions).
    public static func fresh(base: String) throws -> String {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: base, withIntermediateDirectories: true)
        } catch {
            throw TrainError.runDirectory(path: base, reason: "cannot be created (\(error.localizedDescription))")
        }
        var version = (versions(in: base).last ?? -1) + 1
        while true {
            let path = (base as NSString).appendingPathComponent("version_\(version)")
            if mkdir(path, 0o777) == 0 { return path }
            guard errno == EEXIST else {
                let reason = String(cString: strerror(errno))
                throw TrainError.runDirectory(path: path, reason: "cannot be created (\(reason))")
            }
            version += 1
        }
    }

    /// The newest `version_N` under `base` that holds checkpoints, for a bare `--resume`.
    public static func latest(base: String) throws -> String {
        for version in versions(in: base).reversed() {
            let path = (base as NSString).appendingPathComponent("version_\(version)")
            if CheckpointStore.hasCheckpoints(runDirectory: path) { return path }
        }
        throw TrainError.runDirectory(path: base, reason: "holds no run with checkpoints to resume; "
            + "pass --resume PATH (a checkpoint) or --run-dir DIR (the run's folder)")
    }

    /// The version numbers present under `base`, ascending.
    static func versions(in base: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.compactMap { $0.hasPrefix("version_") ? Int($0.dropFirst("version_".count)) : nil }.sorted()
    }
}
