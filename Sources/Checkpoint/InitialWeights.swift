import Foundation
import NN

/// `cnn-dist checkpoint init`: a freshly initialised model's parameters and buffers under their
/// PyTorch names, as a weights-only safetensors file (loadable with `train --init-from`, or
/// into PyTorch with `load_state_dict`).
public enum InitialWeights {
    /// Metadata `written_by` value, telling these files from training checkpoints.
    public static let writer = "cnn-dist checkpoint init"

    /// Initialises `model` from `seed` exactly as a training run with that seed starts, and
    /// writes it to `path` atomically. Returns the number of tensors and values written.
    @discardableResult
    public static func write(_ model: Model, seed: UInt64, to path: String) throws -> (tensors: Int, values: Int) {
        model.initializeParameters(seed: seed)
        let tensors = CheckpointFile.stateTensors(of: model)
        let metadata = [
            "written_by": writer,
            "model": model.name,
            "input_shape": model.inputShape.map(String.init).joined(separator: "x"),
            "classes": String(model.classes),
            "seed": String(seed),
            "tensor_sha256": CheckpointFile.digest(tensors),
        ]
        try AtomicFile.write(SafeTensors.encode(tensors: tensors, metadata: metadata), to: path)
        return (tensors.count, tensors.reduce(0) { $0 + $1.data.count })
    }

    /// `checkpoint verify` for a file this wrote: nil for any other file; else exit status 0 or 1
    /// (checksum mismatch) and a message.
    public static func verify(_ file: SafeTensors.File, path: String) -> (status: Int32, message: String)? {
        guard file.metadata["written_by"] == writer, let expected = file.metadata["tensor_sha256"] else { return nil }
        let actual = CheckpointFile.tensorDigest(file)
        guard actual == expected else {
            return (1, "\(CheckpointError.checksumMismatch(path: path, expected: expected, actual: actual))")
        }
        return (0, "\(path): ok, initial weights only (\(file.tensors.count) tensors, sha256 \(expected))")
    }
}
