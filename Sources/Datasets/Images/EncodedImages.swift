import Foundation

/// Where a split's encoded image files live: a folder of files, or the shards of a packed set.
/// `read` may run on many threads at once, each with its own buffer.
public protocol EncodedImages: Sendable {
    var count: Int { get }
    var labels: [Int32] { get }
    var classNames: [String] { get }
    /// The name errors and logs give sample `index` (its path).
    func name(of index: Int) -> String
    /// Reads sample `index`'s encoded bytes into `buffer` (grown when too small); returns their count.
    func read(_ index: Int, into buffer: inout [UInt8]) throws -> Int
}

/// Reads all of `length` bytes at `offset` of the open file `descriptor`.
func readFully(_ descriptor: Int32, offset: Int, length: Int, into buffer: inout [UInt8], path: String) throws {
    if buffer.count < length { buffer = [UInt8](repeating: 0, count: max(length, buffer.count * 2)) }
    var done = 0
    try buffer.withUnsafeMutableBytes { bytes in
        guard let base = bytes.baseAddress else { return }
        while done < length {
            let got = pread(descriptor, base + done, length - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 {
                throw DataError.truncated(path: path, expectedBytes: length, actualBytes: done, what: "an image")
            }
            done += got
        }
    }
}

/// One file per image, read whole on each use (`ImageFileList` order).
public struct FolderImages: EncodedImages {
    public let list: ImageFileList
    /// Files larger than this are refused unread: no training image is a gigabyte.
    public static let maximumFileBytes = 1 << 30

    public init(_ list: ImageFileList) { self.list = list }

    public var count: Int { list.count }
    public var labels: [Int32] { list.labels }
    public var classNames: [String] { list.classNames }
    public func name(of index: Int) -> String { ImageFileList.join(list.root, list.paths[index]) }

    public func read(_ index: Int, into buffer: inout [UInt8]) throws -> Int {
        let path = name(of: index)
        // O_NONBLOCK: a FIFO named like an image must not block open() forever (it is then refused below).
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw errno == ENOENT
                ? DataError.fileNotFound(path: path)
                : DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw DataError.unreadable(path: path, reason: "not a regular file")
        }
        let length = Int(status.st_size)
        guard length <= Self.maximumFileBytes else {
            throw DataError.unreadable(path: path, reason: "\(length) bytes: larger than any image read (1 GiB)")
        }
        try readFully(descriptor, offset: 0, length: length, into: &buffer, path: path)
        return length
    }
}
