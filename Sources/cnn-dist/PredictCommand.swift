import ArgumentParser
import Datasets
import Foundation
import TensorCore
import Train

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract:
            "Classify images with a checkpoint: the top classes by probability, with their names.",
        discussion: """
            Each image goes through the checkpoint's validation transform (image-folder runs: their resize, \
            centre crop and normalisation; other data sets: resized and centre-cropped to the model's input). \
            Folders are searched for .jpg, .jpeg and .png files. Record files give a prediction per record \
            (FILE#N), with its true label: MNIST IDX images (…-images-idx3-ubyte[.gz], labels from the \
            …-labels-idx1-ubyte beside it) and CIFAR-10/100 batches (.bin). A file that cannot be read is \
            reported and the others still classified; the exit status is then 1.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp("Checkpoint (.safetensors): a step file, best.safetensors, a run directory "
                               + "(its best, else latest), or with --config any weights file."))
    var checkpoint: String
    @Argument(help: "Image files, folders of images, or record files (IDX images, CIFAR .bin).") var paths: [String]
    @Option(name: .customLong("top-k"), help: "Classes listed per image.") var topK = 5
    @Option(name: .long, help: "table, json (one object per line) or csv.") var format = Format.table
    @Option(name: .long, help: "YAML config to rebuild the model from (weights-only files).") var config: String?
    @Option(name: .customLong("batch-size"), help: "Images per forward pass.") var batchSize = 32
    @Option(name: .long, help: "Compute threads (0 = all cores).") var threads = 0

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1, got \(topK)") }
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must lie in 1...4096") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (all cores) or more") }
    }

    func run() throws {
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: threads, ranksOnNode: 1)
        let predictor = try Prediction(checkpoint: checkpoint, configPath: config)
        let k = min(topK, predictor.model.classes)
        var results: [Prediction.Result] = []
        var images: [String] = []
        // Record files (MNIST IDX images, CIFAR batches) give a prediction per record, in place.
        for path in paths {
            if RecordFile.isRecordFile(path) {
                results += predictor.predict(try Prediction.imageFiles(images), topK: k, batchSize: batchSize)
                images = []
                do {
                    results += try predictor.predictRecords(path, topK: k, batchSize: batchSize)
                } catch {
                    results.append(Prediction.Result(file: path, top: [], error: "\(error)"))
                }
            } else {
                images.append(path)
            }
        }
        results += predictor.predict(try Prediction.imageFiles(images), topK: k, batchSize: batchSize)
        switch format {
        case .table:
            for result in results {
                if let error = result.error {
                    print("\(result.file): error: \(error)")
                    continue
                }
                let guesses = result.top.map {
                    "\($0.name ?? String($0.class)) \(String(format: "%.2f%%", 100 * $0.probability))"
                }
                print("\(result.file)" + (result.label.map { " (label \(name($0, predictor)))" } ?? "") + ": "
                    + guesses.joined(separator: ", "))
            }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for result in results { print(String(decoding: try encoder.encode(result), as: UTF8.self)) }
        case .csv:
            print("file,label,rank,class,name,probability")
            for result in results {
                for (rank, guess) in result.top.enumerated() {
                    print(
                        [
                            csv(result.file), result.label.map(String.init) ?? "", String(rank + 1),
                            String(guess.class), csv(guess.name ?? ""),
                            String(format: "%.6f", guess.probability),
                        ].joined(separator: ","))
                }
            }
        }
        if results.contains(where: { $0.error != nil }) {
            let failed = results.filter { $0.error != nil }.count
            throw CommandFailure(status: 1, message: "\(failed) of \(results.count) file(s) could not be read")
        }
    }

    /// A class by its name where the checkpoint has names, else its number.
    func name(_ label: Int, _ predictor: Prediction) -> String {
        guard let names = predictor.classNames, names.indices.contains(label) else { return String(label) }
        return "\(label) \(names[label])"
    }

    /// A CSV field, quoted where it holds a comma, a quote or a line break.
    func csv(_ field: String) -> String {
        guard field.contains(where: { ",\"\n\r".contains($0) }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
