import ArgumentParser
import Checkpoint
import Foundation
import Train

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Look into, check and create checkpoint files.",
        subcommands: [Inspect.self, Verify.self, Init.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a checkpoint's metadata and tensor table.")
        @Argument(help: "Checkpoint (.safetensors).") var path: String

        func run() throws {
            do {
                print(try CheckpointReport.inspect(path: path), terminator: "")
            } catch {
                throw CommandFailure(status: 2, message: "\(error)")
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
                throw CommandFailure(status: status, message: message)
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a freshly initialised model's weights (parameters and buffers, PyTorch names) as safetensors.",
            discussion: "The weights a training run with the same --seed starts from; load them with `train --init-from PATH` or PyTorch's load_state_dict.")
        @Option(name: .long, help: "Model from the zoo.") var model: String
        @Option(name: .long, help: "Output classes (default: the model's).") var classes: Int?
        @Option(name: .long, help: ArgumentHelp("Input shape of one image, CxHxW (default: the model's).", valueName: "CxHxW"))
        var input: String?
        @Option(name: .long, help: "Initialisation seed (training.seed).") var seed: UInt64 = 1
        @Option(name: .shortAndLong, help: "Output file (.safetensors); written atomically.") var output: String

        func validate() throws {
            if let input { _ = try InputShapeOption.parse(input) }
            if let classes, classes < 1 { throw ValidationError("--classes must be positive, got \(classes)") }
        }

        func run() throws {
            let built = try Catalog.makeModel(model, inputShape: try input.map(InputShapeOption.parse), classes: classes)
            let written = try InitialWeights.write(built, seed: seed, to: output)
            let shape = built.inputShape.map(String.init).joined(separator: "x")
            print("\(output): \(built.name) for \(shape) and \(built.classes) classes, seed \(seed): "
                + "\(written.tensors) tensors, \(written.values) values")
        }
    }
}
