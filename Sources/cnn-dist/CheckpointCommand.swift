import ArgumentParser
import Foundation
import Train

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Look into and check checkpoint files.",
        subcommands: [Inspect.self, Verify.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a checkpoint's metadata and tensor table.")
        @Argument(help: "Checkpoint (.safetensors).") var path: String

        func run() throws {
            do {
                print(try CheckpointReport.inspect(path: path), terminator: "")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a checkpoint's structure and data checksum. Exit status 0: valid, 1: checksum mismatch, 2: unreadable or malformed.")
        @Argument(help: "Checkpoint (.safetensors).") var path: String

        func run() throws {
            let (status, message) = CheckpointReport.verify(path: path)
            if status == 0 {
                print(message)
            } else {
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
                throw ExitCode(status)
            }
        }
    }
}
