/// A data set that cannot be read or used, naming the file and what is wrong with it (and,
/// where there is one, what to do about it): these messages are what a user sees.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case corruptGzip(path: String, reason: String)
    case badMagic(path: String, found: UInt32, expected: UInt32, kind: String)
    case badDimensions(path: String, reason: String)
    case truncated(path: String, expectedBytes: Int, actualBytes: Int, what: String)
    case truncatedHeader(path: String, expectedBytes: Int, actualBytes: Int)
    case trailingBytes(path: String, extra: Int)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
    case missingFiles(directory: String, dataset: String, expected: String)
    case tooFewImages(path: String, count: Int, needed: Int)
    case invalidTrainSplit(Int)
    case invalidNormalization(String)
    case invalidBatch(String)
    case invalidAugmentation(String)
    case badImage(path: String, reason: String)
    case badImageFolder(path: String, reason: String)
    case badListFile(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): file not found"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read: \(reason)"
        case .corruptGzip(let path, let reason):
            return "\(path): not a gzip file or corrupt gzip stream (zlib: \(reason)); download the file again"
        case .badMagic(let path, let found, let expected, let kind):
            return "\(path): bad magic number 0x\(hex(found)) (expected 0x\(hex(expected)) for an IDX \(kind) file)"
        case .badDimensions(let path, let reason):
            return "\(path): \(reason)"
        case .truncated(let path, let expected, let actual, let what):
            return "\(path): truncated: header says \(what) (\(expected) bytes of data) but only \(actual) bytes follow"
        case .truncatedHeader(let path, let expected, let actual):
            return "\(path): truncated: \(actual) bytes, too short for an IDX header of \(expected) bytes"
        case .trailingBytes(let path, let extra):
            return "\(path): \(extra) unexpected bytes after the data the header describes"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        case .labelOutOfRange(let path, let index, let label, let classes):
            return "\(path): label \(label) of item \(index) is outside 0..<\(classes)"
        case .missingFiles(let directory, let dataset, let expected):
            return "no \(dataset) files in \(directory): expected \(expected)"
        case .tooFewImages(let path, let count, let needed):
            return "\(path): only \(count) images, but the first \(needed) are to train and at least one more "
                + "must remain to validate: set data.train_split below \(count)"
        case .invalidTrainSplit(let split):
            return "train split \(split) must be positive: it is how many of the t10k images train"
        case .badImage(let path, let reason):
            return "\(path): \(reason)"
        case .badImageFolder(let path, let reason):
            return "\(path): \(reason)"
        case .badListFile(let path, let line, let reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case .invalidNormalization(let message), .invalidBatch(let message), .invalidAugmentation(let message):
            return message
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
