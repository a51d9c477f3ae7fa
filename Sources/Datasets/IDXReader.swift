/// MNIST's IDX format: a big-endian magic number (0x00000803 for unsigned-byte images
/// [n, rows, cols], 0x00000801 for labels [n]), the dimensions, then the bytes.
/// Every count is checked against the file's size; `.gz` files are gunzipped first.
public enum IDXReader {
    /// An image file's contents: `count` images of rows × columns bytes, row-major.
    public struct Images: Equatable, Sendable {
        public var count: Int
        public var rows: Int
        public var columns: Int
        public var pixels: [UInt8]
    }

    static let imageMagic: UInt32 = 0x0000_0803
    static let labelMagic: UInt32 = 0x0000_0801

    static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    static func header(_ bytes: [UInt8], path: String, magic: UInt32, kind: String, dimensions: Int) throws -> [Int] {
        let headerSize = 4 + 4 * dimensions
        guard bytes.count >= 4 else {
            throw DataError.truncatedHeader(path: path, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        let found = bigEndian(bytes, at: 0)
        guard found == magic else { throw DataError.badMagic(path: path, found: found, expected: magic, kind: kind) }
        guard bytes.count >= headerSize else {
            throw DataError.truncatedHeader(path: path, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        return (0..<dimensions).map { Int(bigEndian(bytes, at: 4 + 4 * $0)) }
    }

    static func checkSize(_ bytes: [UInt8], path: String, headerSize: Int, dataSize: Int, what: String) throws {
        let actual = bytes.count - headerSize
        if actual < dataSize {
            throw DataError.truncated(path: path, expectedBytes: dataSize, actualBytes: actual, what: what)
        }
        if actual > dataSize { throw DataError.trailingBytes(path: path, extra: actual - dataSize) }
    }

    /// The images in `path` (plain or gzip); throws `DataError` naming the file and the problem.
    public static func readImages(path: String) throws -> Images {
        let bytes = try Gzip.readFile(path)
        let dims = try header(bytes, path: path, magic: imageMagic, kind: "image", dimensions: 3)
        let (count, rows, columns) = (dims[0], dims[1], dims[2])
        guard rows > 0, columns > 0, rows <= 4096, columns <= 4096 else {
            throw DataError.badDimensions(path: path, reason: "image size \(rows)x\(columns) is not plausible")
        }
        guard count > 0 else { throw DataError.badDimensions(path: path, reason: "header says 0 images") }
        try checkSize(bytes, path: path, headerSize: 16, dataSize: count * rows * columns,
                      what: "\(count) images of \(rows)x\(columns)")
        return Images(count: count, rows: rows, columns: columns, pixels: Array(bytes[16...]))
    }

    /// The labels in `path` (plain or gzip), each checked to lie in 0..<classes.
    public static func readLabels(path: String, classes: Int = 10) throws -> [Int32] {
        let bytes = try Gzip.readFile(path)
        let count = try header(bytes, path: path, magic: labelMagic, kind: "label", dimensions: 1)[0]
        guard count > 0 else { throw DataError.badDimensions(path: path, reason: "header says 0 labels") }
        try checkSize(bytes, path: path, headerSize: 8, dataSize: count, what: "\(count) labels")
        var labels = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let label = Int(bytes[8 + i])
            guard label < classes else {
                throw DataError.labelOutOfRange(path: path, index: i, label: label, classes: classes)
            }
            labels[i] = Int32(label)
        }
        return labels
    }
}
