import Foundation

/// A process started in the background, for tests that signal or kill it mid-run.
/// Output goes to files, so nothing blocks on a full pipe.
public final class BackgroundProcess {
    public let process = Process()
    private let outputFile: URL
    private let errorFile: URL

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("background-\(UUID().uuidString)")
        outputFile = base.appendingPathExtension("out")
        errorFile = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }

    public var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
    public var error: String { (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "" }

    /// Waits until standard output contains `text`; false if the process ended or time ran out first.
    public func waitForOutput(containing text: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            usleep(5_000)
        }
        return false
    }

    /// Waits for the process to end; false if it is still running after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { return false }
        process.waitUntilExit()
        return true
    }

    public var status: Int32 { process.terminationStatus }

    /// The direct children (the ranks, when this is mpirun).
    public func children() -> [Int32] {
        let listing = (try? ProcessRunner.run("/usr/bin/pgrep", ["-P", String(process.processIdentifier)], timeout: 10))?.output ?? ""
        return listing.split(separator: "\n").compactMap { Int32($0) }
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }
}
