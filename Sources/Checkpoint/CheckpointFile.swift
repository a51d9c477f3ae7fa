import Foundation
import NN
import Optim

/// One checkpoint: the model's parameters and buffers under their PyTorch names, SGD's
/// momentum buffers under `optimizer.momentum_buffer.<parameter name>`, and in the
/// safetensors `__metadata__` the training state, the resolved config and a SHA-256 of
/// the tensor data (all tensors' bytes in file order).
public struct CheckpointFile {
    public static let formatName = CheckpointMetadata.formatName
    public static let momentumPrefix = "optimizer.momentum_buffer."

    public var file: SafeTensors.File
    public var path: String
    /// The file's metadata, read and checked by `verified`.
    public var info: CheckpointMetadata

    public var metadata: [String: String] { file.metadata }

    /// Builds the file's bytes from live tensors.
    /// `configYAML`: the run's resolved config, kept so that `evaluate` and a resume can rebuild the run.
    public static func encode(model: Model, optimizer: SGD, progress: TrainingProgress, configYAML: String,
                              seed: UInt64, worldSize: Int, classNames: [String]? = nil) throws -> Data {
        var tensors = stateTensors(of: model)
        for ((name, _), buffer) in zip(optimizer.parameters, optimizer.momentumBuffers) {
            if let buffer { tensors.append((momentumPrefix + name, buffer.shape, UnsafeBufferPointer(buffer.buffer))) }
        }
        var info = CheckpointMetadata(model: model.name, inputShape: model.inputShape, classes: model.classes,
                                      config: configYAML, seed: seed, worldSize: worldSize,
                                      tensorSHA256: digest(tensors), progress: progress)
        info.classNames = classNames
        var entries = try MetadataCoder.encode(info)
        entries[metadataChecksumKey] = metadataDigest(entries)
        return SafeTensors.encode(tensors: tensors, metadata: entries)
    }

    /// A model's parameters then buffers under their PyTorch names: what every weights file
    /// holds (checkpoints, model.safetensors, `checkpoint init`).
    public static func stateTensors(of model: Model) -> [SafeTensors.View] {
        model.namedParameters().map { name, parameter in
            (name, parameter.value.shape, UnsafeBufferPointer(parameter.value.buffer))
        }
            + model.namedBuffers().map { ($0.name, $0.tensor.shape, UnsafeBufferPointer($0.tensor.buffer)) }
    }

    /// The metadata entry that covers all the others, so that an edited training state (a step,
    /// a learning rate) fails `verify` as edited tensors do. Files written before it have none.
    public static let metadataChecksumKey = "metadata_sha256"

    /// SHA-256 of the metadata entries but `metadata_sha256`, in key order, each key and value
    /// followed by a zero byte.
    public static func metadataDigest(_ entries: [String: String]) -> String {
        var digest = TensorDigest()
        for key in entries.keys.sorted() where key != metadataChecksumKey {
            for text in [key, entries[key] ?? ""] {
                (Array(text.utf8) + [0]).withUnsafeBytes { digest.update($0) }
            }
        }
        return digest.hex()
    }

    /// SHA-256 of the tensors' bytes in order, as `tensor_sha256` records it.
    public static func digest(_ tensors: [SafeTensors.View]) -> String {
        var digest = TensorDigest()
        for tensor in tensors { digest.update(UnsafeRawBufferPointer(tensor.data)) }
        return digest.hex()
    }

    /// Reads and checks a checkpoint: safetensors structure, format, and the data checksum.
    public static func load(path: String) throws -> CheckpointFile {
        try verified(SafeTensors.read(path: path), path: path)
    }

    /// Checks a file already read from `path`: cnn-dist format, the data checksum, the metadata's fields.
    public static func verified(_ file: SafeTensors.File, path: String) throws -> CheckpointFile {
        guard file.metadata["format"] == formatName else {
            throw CheckpointError.malformed(path: path, reason: "no cnn-dist training state in its metadata "
                + "(format is '\(file.metadata["format"] ?? "missing")'); use --init-from for weights-only files")
        }
        guard let expected = file.metadata["tensor_sha256"] else {
            throw CheckpointError.malformed(path: path, reason: "metadata lacks tensor_sha256")
        }
        let actual = tensorDigest(file)
        guard actual == expected else {
            throw CheckpointError.checksumMismatch(path: path, expected: expected, actual: actual)
        }
        if let recorded = file.metadata[metadataChecksumKey], recorded != metadataDigest(file.metadata) {
            throw CheckpointError.metadataChecksumMismatch(path: path)
        }
        let info: CheckpointMetadata
        do {
            info = try MetadataCoder.decode(CheckpointMetadata.self, from: file.metadata)
        } catch DecodingError.keyNotFound(let key, _) {
            let name = key.stringValue
            throw CheckpointError.malformed(path: path, reason: "metadata '\(name)' is missing or not a number")
        } catch DecodingError.dataCorrupted(let context) {
            let key = context.codingPath.first?.stringValue ?? "?"
            throw CheckpointError.malformed(path: path, reason: "metadata '\(key)' is missing or not a number")
        }
        if let problem = info.problems.first {
            throw CheckpointError.malformed(path: path, reason: "metadata \(problem)")
        }
        return CheckpointFile(file: file, path: path, info: info)
    }

    /// SHA-256 of all tensor data in file order.
    public static func tensorDigest(_ file: SafeTensors.File) -> String {
        var digest = TensorDigest()
        for entry in file.tensors { entry.bytes.withUnsafeBytes { digest.update($0) } }
        return digest.hex()
    }

    public func tensorDigest() -> String { CheckpointFile.tensorDigest(file) }
}
