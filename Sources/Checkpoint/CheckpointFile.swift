import Foundation
import NN
import Optim

/// One checkpoint: the model's parameters and buffers under their PyTorch names, SGD's
/// momentum buffers under `optimizer.momentum_buffer.<parameter name>`, and in the
/// safetensors `__metadata__` the training state, the resolved config and a SHA-256 of
/// the tensor data (all tensors' bytes in file order).
public struct CheckpointFile {
    public static let formatName = "cnn-dist-checkpoint"
    public static let formatVersion = "1"
    public static let momentumPrefix = "optimizer.momentum_buffer."

    public var file: SafeTensors.File
    public var path: String

    public var metadata: [String: String] { file.metadata }

    /// Builds the file's bytes from live tensors.
    /// `configYAML`: the run's resolved config, kept so that `evaluate` and a resume can rebuild the run.
    public static func encode(model: Model, optimizer: SGD, progress: TrainingProgress, configYAML: String, seed: UInt64,
                              worldSize: Int) -> Data {
        var tensors = stateTensors(of: model)
        for ((name, _), buffer) in zip(optimizer.parameters, optimizer.momentumBuffers) {
            if let buffer { tensors.append((momentumPrefix + name, buffer.shape, UnsafeBufferPointer(buffer.buffer))) }
        }
        var metadata = encode(progress)
        metadata["format"] = formatName
        metadata["format_version"] = formatVersion
        metadata["model"] = model.name
        metadata["input_shape"] = model.inputShape.map(String.init).joined(separator: "x")
        metadata["classes"] = String(model.classes)
        metadata["config"] = configYAML
        metadata["seed"] = String(seed)
        metadata["world_size"] = String(worldSize)
        metadata["tensor_sha256"] = digest(tensors)
        return SafeTensors.encode(tensors: tensors, metadata: metadata)
    }

    /// A model's parameters then buffers under their PyTorch names: what every weights file
    /// holds (checkpoints, model.safetensors, `checkpoint init`).
    public static func stateTensors(of model: Model) -> [SafeTensors.View] {
        model.namedParameters().map { ($0.name, $0.parameter.value.shape, UnsafeBufferPointer($0.parameter.value.buffer)) }
            + model.namedBuffers().map { ($0.name, $0.tensor.shape, UnsafeBufferPointer($0.tensor.buffer)) }
    }

    /// SHA-256 of the tensors' bytes in order, as `tensor_sha256` records it.
    public static func digest(_ tensors: [SafeTensors.View]) -> String {
        var digest = TensorDigest()
        for tensor in tensors { digest.update(UnsafeRawBufferPointer(tensor.data)) }
        return digest.hex()
    }

    public static func encode(_ progress: TrainingProgress) -> [String: String] {
        var metadata: [String: String] = [
            "epoch": String(progress.epoch), "batch_in_epoch": String(progress.batchInEpoch),
            "global_step": String(progress.globalStep), "learning_rate": String(progress.learningRate),
            "epoch_loss_sum": String(progress.epochLossSum), "epoch_correct": String(progress.epochCorrect),
            "epoch_count": String(progress.epochCount), "elapsed_seconds": String(progress.elapsedSeconds),
        ]
        if let best = progress.bestMetric { metadata["best_metric"] = String(best) }
        for (key, value) in progress.schedulerState { metadata["scheduler." + key] = value }
        return metadata
    }

    /// Reads and checks a checkpoint: safetensors structure, format, and the data checksum.
    public static func load(path: String) throws -> CheckpointFile {
        try verified(SafeTensors.read(path: path), path: path)
    }

    /// Checks a file already read from `path`: cnn-dist format and the data checksum.
    public static func verified(_ file: SafeTensors.File, path: String) throws -> CheckpointFile {
        let checkpoint = CheckpointFile(file: file, path: path)
        guard file.metadata["format"] == formatName else {
            throw CheckpointError.malformed(path: path, reason: "no cnn-dist training state in its metadata "
                + "(format is '\(file.metadata["format"] ?? "missing")'); use --init-from for weights-only files")
        }
        guard let expected = file.metadata["tensor_sha256"] else {
            throw CheckpointError.malformed(path: path, reason: "metadata lacks tensor_sha256")
        }
        let actual = checkpoint.tensorDigest()
        guard actual == expected else { throw CheckpointError.checksumMismatch(path: path, expected: expected, actual: actual) }
        return checkpoint
    }

    /// SHA-256 of all tensor data in file order.
    public func tensorDigest() -> String {
        var digest = TensorDigest()
        for entry in file.tensors { entry.bytes.withUnsafeBytes { digest.update($0) } }
        return digest.hex()
    }

    public func progress() throws -> TrainingProgress {
        func number(_ key: String) throws -> Double {
            guard let text = metadata[key], let value = Double(text) else {
                throw CheckpointError.malformed(path: path, reason: "metadata '\(key)' is missing or not a number")
            }
            return value
        }
        var progress = TrainingProgress(learningRate: try number("learning_rate"))
        progress.epoch = Int(try number("epoch"))
        progress.batchInEpoch = Int(try number("batch_in_epoch"))
        progress.globalStep = Int(try number("global_step"))
        progress.epochLossSum = try number("epoch_loss_sum")
        progress.epochCorrect = try number("epoch_correct")
        progress.epochCount = try number("epoch_count")
        progress.elapsedSeconds = try number("elapsed_seconds")
        progress.bestMetric = metadata["best_metric"].flatMap(Double.init)
        for (key, value) in metadata where key.hasPrefix("scheduler.") {
            progress.schedulerState[String(key.dropFirst("scheduler.".count))] = value
        }
        return progress
    }
}
