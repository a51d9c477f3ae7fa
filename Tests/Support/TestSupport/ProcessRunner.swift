import Foundation

/// Runs the package's built executables (and mpirun) from tests.
public enum ProcessRunner {
    public struct Result {
        public var status: Int32
        public var output: String
        public var error: String
        public var seconds: Double
    }

    /// The directory holding the built products: the test bundle sits beside them.
    public static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    public static func product(_ name: String) -> String {
        productsDirectory.appendingPathComponent(name).path
    }

    public static var mpirunPath: String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(directory)/mpirun"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// mpirun arguments for `ranks` local ranks on this (possibly small, possibly root) machine.
    public static func mpirunArguments(ranks: Int, extra: [String] = []) -> [String] {
        ["--oversubscribe", "--allow-run-as-root", "-n", String(ranks)] + extra
    }

    /// Runs `executable` with `arguments`, killing it after `timeout` seconds.
    public static func run(_ executable: String, _ arguments: [String], timeout: Double = 300,
                           environment: [String: String] = [:], directory: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("err-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil),
              FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outputFile.path])
        }
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        let deadline = start.addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            usleep(500_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
                      error: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "",
                      seconds: Date().timeIntervalSince(start))
    }

    public static func temporaryDirectory(_ label: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-dist-\(label)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
