import Checkpoint
import Configuration
import Datasets
import Distributed
import Foundation
import NN
import Reports
import TensorCore

/// `cnn-dist evaluate`: a checkpoint's model on its validation split — loss, top-1, top-5,
/// per-class accuracy and the confusion matrix — sharded across ranks.
public struct CheckpointEvaluation {
    public var checkpoint: String
    public var model: String
    public var dataset: String
    /// Optimizer steps the checkpoint had taken (nil for a weights-only file).
    public var step: Int?
    public var result: Evaluation
    /// Names of the classes in label order (the checkpoint's, else the data set's), where known.
    public var classNames: [String]?

    /// Rebuilds model and data set from the checkpoint's resolved config (or `configPath`'s,
    /// which a weights-only file such as model.safetensors needs), with `dataPath` replacing
    /// `data.path`, loads the weights and evaluates. Every rank reads the file.
    /// `ensemble`: further checkpoints of the same model whose probabilities are averaged with this one's.
    /// `tenCrop`: each image's probabilities averaged over torchvision's `TenCrop` of what validation
    /// crops from (the four corners and the centre, and their mirror images: AlexNet's test).
    public static func run(checkpoint path: String, ensemble: [String] = [], tenCrop: Bool = false,
                           configPath: String? = nil, dataPath: String? = nil, batchSize: Int? = nil,
                           communicator: Communicator) throws
        -> CheckpointEvaluation {
        let path = try CheckpointStore.resolve(path)
        let file = try SafeTensors.read(path: path)
        var config: TrainConfig
        var step: Int?
        var classNames: [String]?
        if file.metadata["format"] == CheckpointFile.formatName {
            let checkpoint = try CheckpointFile.verified(file, path: path)
            step = checkpoint.info.progress.globalStep
            classNames = checkpoint.info.classNames
            if let configPath {
                config = try TrainConfig.load(file: configPath, knownModels: Catalog.models, dataPathGiven: dataPath != nil)
            } else {
                config = try TrainConfig.parse(yaml: checkpoint.info.config, source: "\(path) (metadata 'config')",
                                               knownModels: Catalog.models)
            }
        } else {
            guard let configPath else {
                throw CheckpointError.malformed(path: path, reason: "no cnn-dist training state in its metadata "
                    + "(format is '\(file.metadata["format"] ?? "missing")'), so no config to rebuild the model from; "
                    + "pass --config FILE to evaluate a weights-only file")
            }
            config = try TrainConfig.load(file: configPath, knownModels: Catalog.models, dataPathGiven: dataPath != nil)
        }
        var overrides = ConfigOverrides()
        overrides.dataPath = dataPath
        try config.apply(overrides, knownModels: Catalog.models)

        let data = try RunData(config)
        // The trainer's validation batches: its normalisation, and its centre crop where training crops.
        let views = tenCrop ? CropView.tenCrop.map { data.makers.validation.validationView($0) } : []
        let batches = views.first ?? data.makers.validation
        let model = try data.makeModel(config.model)
        try ModelStateLoader.loadWeights(file, path: path, into: model)
        let members = try ensemble.map { member -> Model in
            let memberPath = try CheckpointStore.resolve(member)
            let memberFile = try SafeTensors.read(path: memberPath)
            if memberFile.metadata["format"] == CheckpointFile.formatName {
                _ = try CheckpointFile.verified(memberFile, path: memberPath)
            }
            let memberModel = try data.makeModel(config.model)
            try ModelStateLoader.loadWeights(memberFile, path: memberPath, into: memberModel)
            return memberModel
        }
        // Any batch gives the same figures (to rounding); make it divide over the ranks.
        let ranks = communicator.worldSize
        let batch = ((batchSize ?? config.training.batchSize) + ranks - 1) / ranks * ranks
        let evaluator = try Evaluator(model: model, batches: batches, globalBatchSize: batch, communicator: communicator,
                                      confusion: true, ensemble: members, views: Array(views.dropFirst()))
        var evaluation = CheckpointEvaluation(
            checkpoint: ([path] + ensemble).joined(separator: " + "),
            model: model.name + (ensemble.isEmpty ? "" : " × \(ensemble.count + 1) (probabilities averaged)")
                + (tenCrop ? ", ten crops per image (probabilities averaged)" : ""),
            dataset: "\(data.name) validation" + (config.data.path.map { " (\($0))" } ?? ""),
            step: step, result: try evaluator.evaluate())
        let names = classNames ?? data.classNames
        evaluation.classNames = names?.count == model.classes ? names : nil
        return evaluation
    }

    /// Runs single-node, or on every rank under mpirun/srun (a failing rank ends the job);
    /// returns the result on rank 0, nil on the others.
    public static func launch(checkpoint path: String, ensemble: [String] = [], tenCrop: Bool = false,
                              configPath: String?, dataPath: String?, batchSize: Int?, threads: Int?) throws
        -> CheckpointEvaluation? {
        guard MPICommunicator.launchedByMPI else {
            Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: threads ?? 0, ranksOnNode: 1)
            return try run(checkpoint: path, ensemble: ensemble, tenCrop: tenCrop, configPath: configPath,
                           dataPath: dataPath, batchSize: batchSize, communicator: SingleProcessCommunicator())
        }
        let communicator = try MPICommunicator()
        Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: threads ?? 0, ranksOnNode: communicator.localSize)
        let result = TrainingLauncher.runOrAbort(communicator) {
            try run(checkpoint: path, ensemble: ensemble, tenCrop: tenCrop, configPath: configPath, dataPath: dataPath,
                    batchSize: batchSize, communicator: communicator)
        }
        communicator.finish()
        return communicator.isCoordinator ? result : nil
    }

    /// Summary, per-class table and confusion matrix (rows: true class, columns: predicted).
    public var table: String {
        let r = result
        func percent(_ x: Double) -> String { x.isFinite ? String(format: "%.2f%%", 100 * x) : "—" }
        var lines = ["checkpoint  \(checkpoint)" + (step.map { " (step \($0))" } ?? ""),
                     "model       \(model), \(r.classes) classes",
                     "data        \(dataset), \(Int(r.count)) images",
                     "loss        " + String(format: "%.4f", r.meanLoss),
                     "top-1       \(percent(r.accuracy))  (\(Int(r.correct))/\(Int(r.count)))",
                     "top-5       \(percent(r.top5Accuracy))", "",
                     "class    images  correct  accuracy" + (classNames == nil ? "" : "  name")]
        let counts = r.classCounts, accuracies = r.perClassAccuracy
        for c in 0..<r.classes {
            let correct = Int(r.confusion?[c * r.classes + c] ?? 0)
            lines.append(pad(String(c), 5) + pad(String(Int(counts[c])), 10) + pad(String(correct), 9)
                + pad(percent(accuracies[c]), 10) + (classNames.map { "  " + $0[c] } ?? ""))
        }
        if let confusion = r.confusion {
            let width = max(5, String(Int(confusion.max() ?? 0)).count + 2)
            lines += ["", "confusion matrix (rows: true class, columns: predicted class)",
                      pad("", 5) + (0..<r.classes).map { pad(String($0), width) }.joined()]
            for row in 0..<r.classes {
                lines.append(pad(String(row), 5) + (0..<r.classes).map { pad(String(Int(confusion[row * r.classes + $0])), width) }.joined())
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object: the figures, `per_class` and `confusion_matrix` (rows: true class).
    public var json: String { JSONLines.encode(Report(self)) + "\n" }

    /// The JSON form of an evaluation.
    struct Report: Encodable {
        struct ClassRow: Encodable {
            var `class`: Int
            var name: String?
            var images: Int
            var correct: Int
            var accuracy: Double

            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(`class`, forKey: .class)
                try c.encodeIfPresent(name, forKey: .name)
                try c.encode(images, forKey: .images)
                try c.encode(correct, forKey: .correct)
                try c.encodeNumber(accuracy, forKey: .accuracy)
            }

            enum CodingKeys: String, CodingKey { case `class`, name, images, correct, accuracy }
        }

        var checkpoint: String
        var model: String
        var dataset: String
        var step: Int?
        var classes: Int
        var images: Int
        var loss: Double
        var top1Accuracy: Double
        var top5Accuracy: Double
        var perClass: [ClassRow]
        var confusionMatrix: [[Int]]

        init(_ evaluation: CheckpointEvaluation) {
            let r = evaluation.result
            (checkpoint, model, dataset, step) = (evaluation.checkpoint, evaluation.model, evaluation.dataset,
                                                  evaluation.step)
            (classes, images, loss) = (r.classes, Int(r.count), r.meanLoss)
            (top1Accuracy, top5Accuracy) = (r.accuracy, r.top5Accuracy)
            let counts = r.classCounts, accuracies = r.perClassAccuracy
            let confusion = (0..<r.classes).map { row in
                (0..<r.classes).map { Int(r.confusion?[row * r.classes + $0] ?? 0) }
            }
            perClass = (0..<r.classes).map { c in
                ClassRow(class: c, name: evaluation.classNames?[c], images: Int(counts[c]), correct: confusion[c][c],
                         accuracy: accuracies[c])
            }
            confusionMatrix = confusion
        }

        enum CodingKeys: String, CodingKey {
            case checkpoint, model, dataset, step, classes, images, loss, top1Accuracy = "top1_accuracy"
            case top5Accuracy = "top5_accuracy", perClass = "per_class", confusionMatrix = "confusion_matrix"
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(checkpoint, forKey: .checkpoint)
            try c.encode(model, forKey: .model)
            try c.encode(dataset, forKey: .dataset)
            try c.encode(step, forKey: .step)  // null when the checkpoint records none
            try c.encode(classes, forKey: .classes)
            try c.encode(images, forKey: .images)
            try c.encodeNumber(loss, forKey: .loss)
            try c.encodeNumber(top1Accuracy, forKey: .top1Accuracy)
            try c.encodeNumber(top5Accuracy, forKey: .top5Accuracy)
            try c.encode(perClass, forKey: .perClass)
            try c.encode(confusionMatrix, forKey: .confusionMatrix)
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
