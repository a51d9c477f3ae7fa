import ArgumentParser
import Checkpoint
import Datasets
import Foundation
import Train

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make, pack and inspect data sets.",
        subcommands: [GenerateCIFAR10.self, GenerateCIFAR100.self, MakeImages.self, PackImages.self, InspectImages.self,
                      ImageTensor.self])

    /// What both generators take.
    struct GenerateOptions: ParsableArguments {
        @Option(name: [.short, .long], help: "Directory to write (created if missing).") var output: String
        @Option(name: .long, help: "Training images.") var train = 10_000
        @Option(name: .long, help: "Test images.") var test = 2_000
        @Option(name: .long, help: "Random seed.") var seed: UInt64 = 1

        /// Creates the output directory, runs `write` and prints its summary, or the error (exit status 1).
        func write(_ body: () throws -> String) throws {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            print(try body())
        }
    }

    struct GenerateCIFAR10: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate-cifar10",
            abstract: "Write the built-in shapes as colour 32x32 images in CIFAR-10's binary format "
                + "(data_batch_1.bin … data_batch_5.bin, test_batch.bin), for running CIFAR configs without the download.")
        @OptionGroup var options: GenerateOptions

        func validate() throws {
            guard options.train >= 5 && options.test >= 1 else {
                throw ValidationError("--train must be at least 5 (one per data_batch file) and --test at least 1")
            }
        }

        func run() throws {
            let (output, train, test, seed) = (options.output, options.train, options.test, options.seed)
            try options.write {
                let images = SyntheticShapes.makeColor(count: train, seed: seed, stream: "train")
                for (index, name) in CIFAR10.trainFiles.enumerated() {
                    let range = (index * train / 5)..<((index + 1) * train / 5)
                    try AtomicFile.write(CIFAR10.encode(images.subset(range)), to: output + "/" + name)
                }
                let testImages = SyntheticShapes.makeColor(count: test, seed: seed, stream: "test")
                try AtomicFile.write(CIFAR10.encode(testImages), to: output + "/" + CIFAR10.testFile)
                let names = SyntheticShapes.classNames.joined(separator: "\n") + "\n"
                try AtomicFile.write(Data(names.utf8), to: output + "/batches.meta.txt")
                return "wrote \(train) training and \(test) test images (3x32x32, 10 classes) to \(output)"
            }
        }
    }

    struct GenerateCIFAR100: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate-cifar100",
            abstract: "Write colour 32x32 shapes in CIFAR-100's binary format (train.bin, test.bin; coarse and fine "
                + "label bytes): fine class = 10 × shape + palette (100), coarse = fine / 5 (20).")
        @OptionGroup var options: GenerateOptions

        func validate() throws {
            guard options.train >= 1 && options.test >= 1 else { throw ValidationError("--train and --test must be at least 1") }
        }

        func run() throws {
            let (output, train, test, seed) = (options.output, options.train, options.test, options.seed)
            try options.write {
                for (name, count, stream) in [(CIFAR100.trainFile, train, "train"), (CIFAR100.testFile, test, "test")] {
                    let images = SyntheticShapes.makeColor100(count: count, seed: seed, stream: stream)
                    try AtomicFile.write(CIFAR100.encode(images, coarse: SyntheticShapes.coarseClass), to: output + "/" + name)
                }
                return "wrote \(train) training and \(test) test images (3x32x32, 100 fine / 20 coarse classes) to \(output)"
            }
        }
    }
}
