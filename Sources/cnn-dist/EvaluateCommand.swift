import ArgumentParser
import Distributed
import Foundation
import Train

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a checkpoint on its validation split: loss, top-1, top-5, per-class accuracy, confusion matrix.",
        discussion: """
        The model and data set are rebuilt from the config stored in the checkpoint (--config \
        replaces it, and is needed for weights-only files such as model.safetensors). Works \
        single-node or under mpirun/srun (the validation set is sharded across ranks; rank 0 prints).
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint (.safetensors; repeat for an ensemble, probabilities averaged): a step file, "
                               + "best.safetensors, a run directory "
                               + "(its best, else latest), or with --config any weights file."))
    var checkpoint: [String]
    @Option(name: .customLong("data"), help: "Dataset directory, replacing the config's data.path.") var dataPath: String?
    @Option(name: .long, help: "YAML config to rebuild model and data from instead of the checkpoint's.") var config: String?
    @Option(name: .customLong("batch-size"), help: "Global evaluation batch (default: training.batch_size).") var batchSize: Int?
    @Option(name: .long, help: "Compute threads per rank (0 = automatic).") var threads: Int?
    @Flag(name: .customLong("ten-crop"), help: ArgumentHelp(
        "Average each image's probabilities over ten crops: the four corners and the centre of what validation "
            + "crops from, and their mirror images (torchvision's TenCrop; AlexNet's test)."))
    var tenCrop = false
    @Option(name: .long, help: "table or json.") var format = Format.table

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        guard !checkpoint.isEmpty else { throw ValidationError("give a --checkpoint (several: an ensemble)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
    }

    func run() throws {
        guard let evaluation = try CheckpointEvaluation.launch(
            checkpoint: checkpoint[0], ensemble: Array(checkpoint.dropFirst()), tenCrop: tenCrop, configPath: config,
            dataPath: dataPath,
            batchSize: batchSize, threads: threads)
        else { return }
        print(format == .json ? evaluation.json : evaluation.table, terminator: "")
    }
}
