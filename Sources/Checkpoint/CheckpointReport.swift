import Foundation

/// Text for `cnn-dist checkpoint inspect` and `verify`.
public enum CheckpointReport {
    public static func inspect(path: String) throws -> String {
        let file = try SafeTensors.read(path: path)
        var out = "checkpoint \(path)\n\nmetadata:\n"
        for key in file.metadata.keys.sorted() where key != "config" {
            out += "  \(key): \(file.metadata[key]!)\n"
        }
        if let config = file.metadata["config"] {
            out += "\nconfig:\n" + config.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
            out += "\n"
        }
        let width = max(6, file.tensors.map(\.name.count).max() ?? 0)
        out += "\n" + "tensor".padding(toLength: width, withPad: " ", startingAt: 0) + "  shape              elements\n"
        for entry in file.tensors {
            let shape = "[" + entry.shape.map(String.init).joined(separator: ", ") + "]"
            out += entry.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + shape.padding(toLength: 17, withPad: " ", startingAt: 0) + "  \(entry.count)\n"
        }
        let total = file.tensors.reduce(0) { $0 + $1.count }
        out += "\(file.tensors.count) tensors, \(total) values (\(total * 4) bytes)\n"
        return out
    }

    /// Exit status (0 valid, 1 checksum mismatch, 2 unreadable or malformed) and a message.
    public static func verify(path: String) -> (status: Int32, message: String) {
        do {
            let file = try SafeTensors.read(path: path)
            if let weights = InitialWeights.verify(file, path: path) { return weights }
            let checkpoint = try CheckpointFile.verified(file, path: path)
            return (0, "\(path): ok (\(checkpoint.file.tensors.count) tensors, sha256 \(checkpoint.metadata["tensor_sha256"] ?? ""))")
        } catch let error as CheckpointError {
            switch error {
            case .checksumMismatch, .metadataChecksumMismatch: return (1, "\(error)")
            default: break
            }
            return (2, "\(error)")
        } catch {
            return (2, "\(path): \(error)")
        }
    }
}
