/// Problems with checkpoint files, each naming the file.
public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case checksumMismatch(path: String, expected: String, actual: String)
    case metadataChecksumMismatch(path: String)
    case incompatible(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "\(path): cannot be read (missing or no permission)"
        case .malformed(let path, let reason): return "\(path): not a valid safetensors checkpoint: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot be written: \(reason)"
        case .checksumMismatch(let path, let expected, let actual):
            return "\(path): checksum mismatch: the tensor data hashes to \(actual), the file records \(expected)"
                + " (corrupted or modified file); use an older checkpoint"
        case .metadataChecksumMismatch(let path):
            return "\(path): checksum mismatch: the metadata (training state, config) does not hash to its "
                + "metadata_sha256 (edited or corrupted file); use an older checkpoint"
        case .incompatible(let path, let reason): return "\(path): does not fit this run: \(reason)"
        }
    }
}
