import ArgumentParser
import Data
import Foundation
import Train

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make data sets in standard formats.",
        subcommands: [GenerateCIFAR10.self])

    struct GenerateCIFAR10: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate-cifar10",
            abstract: "Write the built-in shapes as colour 32x32 images in CIFAR-10's binary format "
                + "(data_batch_1.bin … data_batch_5.bin, test_batch.bin), for running CIFAR configs without the download.")
        @Option(name: [.short, .long], help: "Directory to write (created if missing).") var output: String
        @Option(name: .long, help: "Training images, split over the five data_batch files.") var train = 10_000
        @Option(name: .long, help: "Test images (test_batch.bin).") var test = 2_000
        @Option(name: .long, help: "Random seed.") var seed: UInt64 = 1

        func validate() throws {
            guard train >= 5 && test >= 1 else { throw ValidationError("--train must be at least 5 and --test at least 1") }
        }

        func run() throws {
            do {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                let images = SyntheticShapes.makeColor(count: train, seed: seed, stream: "train")
                for (index, name) in CIFAR10.trainFiles.enumerated() {
                    let range = (index * train / 5)..<((index + 1) * train / 5)
                    try AtomicFile.write(CIFAR10.encode(images.subset(range)), to: output + "/" + name)
                }
                let testImages = SyntheticShapes.makeColor(count: test, seed: seed, stream: "test")
                try AtomicFile.write(CIFAR10.encode(testImages), to: output + "/" + CIFAR10.testFile)
                let names = SyntheticShapes.classNames.joined(separator: "\n") + "\n"
                try AtomicFile.write(Foundation.Data(names.utf8), to: output + "/batches.meta.txt")
                print("wrote \(train) training and \(test) test images (3x32x32, 10 classes) to \(output)")
            } catch {
                FileHandle.standardError.write(Foundation.Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
