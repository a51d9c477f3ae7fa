import Foundation

/// A packed image set (the FFCV / WebDataset / RecordIO idea): each split's encoded images
/// concatenated into a few large shard files, plus an index of (shard, offset, length, label)
/// records, so an epoch reads a handful of files sequentially instead of opening one per image
/// on a network file system. Reading a packed set gives exactly the bytes of the folder it came
/// from (unless it was packed pre-resized), so batches are the same bits.
///
/// Layout of a packed directory:
/// - `pack.json`: `PackManifest` (format version, classes, per split its count and shard names);
/// - `<split>-NNNNN.bin`: shards;
/// - `<split>.index`: `count` records of 24 bytes, little-endian: shard (u32), label (i32),
///   offset (u64), length (u64);
/// - `<split>.paths`: the images' original relative paths, one per line (for error messages).
public final class PackedImages: EncodedImages, @unchecked Sendable {
    public let directory: String
    public let split: String
    public let labels: [Int32]
    public let classNames: [String]
    private let shards: [String]
    private let descriptors: [Int32]
    private let records: [Record]
    private let paths: [String]

    struct Record {
        var shard: Int
        var offset: Int
        var length: Int
    }

    public static let manifestName = "pack.json"
    static let recordBytes = 24

    public static func isPackedSet(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: ImageFileList.join(directory, manifestName))
    }

    public init(directory: String, split: String) throws {
        let manifest = try PackManifest.read(directory: directory)
        guard let facts = manifest.splits[split] else {
            throw DataError.badImageFolder(
                path: ImageFileList.join(directory, Self.manifestName),
                reason: "has no '\(split)' split (it has \(manifest.splits.keys.sorted().joined(separator: ", ")))")
        }
        let manifestPath = ImageFileList.join(directory, Self.manifestName)
        // Bounds before any size is computed from them: an edited count must not overflow count × 24.
        guard (0...(1 << 36)).contains(facts.count) else {
            throw DataError.badImageFolder(path: manifestPath, reason: "'\(split)' count \(facts.count) is impossible")
        }
        if let shard = facts.shards.first(where: { $0.isEmpty || $0.contains("/") || $0.hasPrefix(".") }) {
            throw DataError.badImageFolder(
                path: manifestPath,
                reason: "shard name '\(shard)' is not a file name inside the packed set")
        }
        guard !manifest.classes.isEmpty, manifest.classes.count <= 1_000_000 else {
            throw DataError.badImageFolder(path: manifestPath, reason: "\(manifest.classes.count) classes")
        }
        self.directory = directory
        self.split = split
        classNames = manifest.classes
        shards = facts.shards.map { ImageFileList.join(directory, $0) }
        let indexPath = ImageFileList.join(directory, "\(split).index")
        guard let index = FileManager.default.contents(atPath: indexPath) else {
            throw DataError.fileNotFound(path: indexPath)
        }
        guard index.count == facts.count * Self.recordBytes else {
            throw DataError.truncated(
                path: indexPath, expectedBytes: facts.count * Self.recordBytes, actualBytes: index.count,
                what: "\(facts.count) records")
        }
        var sizes: [Int] = []
        for shard in shards {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: shard),
                let size = attributes[.size] as? Int
            else { throw DataError.fileNotFound(path: shard) }
            sizes.append(size)
        }
        var records: [Record] = [], labels: [Int32] = []
        records.reserveCapacity(facts.count)
        labels.reserveCapacity(facts.count)
        try index.withUnsafeBytes { bytes in
            for i in 0..<facts.count {
                let base = i * Self.recordBytes
                func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
                    T(littleEndian: bytes.loadUnaligned(fromByteOffset: base + offset, as: T.self))
                }
                let shard = Int(field(0, UInt32.self)), label = field(4, Int32.self)
                let offset = field(8, UInt64.self), length = field(16, UInt64.self)
                guard shard < sizes.count, label >= 0, Int(label) < manifest.classes.count,
                    offset <= UInt64(sizes[shard]), length <= UInt64(sizes[shard]) - offset
                else {
                    throw DataError.badImageFolder(
                        path: indexPath,
                        reason: "record \(i) (shard \(shard), label \(label), "
                            + "bytes \(offset)+\(length)) points outside the shards or the "
                            + "\(manifest.classes.count) classes"
                    )
                }
                records.append(Record(shard: shard, offset: Int(offset), length: Int(length)))
                labels.append(label)
            }
        }
        self.records = records
        self.labels = labels
        let pathsFile = ImageFileList.join(directory, "\(split).paths")
        let names =
            (try? String(contentsOfFile: pathsFile, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        paths = names.count == records.count ? names : (0..<records.count).map { "image \($0)" }
        var descriptors: [Int32] = []
        for shard in shards {
            let descriptor = Glibc.open(shard, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                descriptors.forEach { _ = close($0) }
                throw DataError.unreadable(path: shard, reason: String(cString: strerror(errno)))
            }
            descriptors.append(descriptor)
        }
        self.descriptors = descriptors
    }

    deinit { descriptors.forEach { _ = close($0) } }

    public var count: Int { records.count }

    public func name(of index: Int) -> String {
        "\(shards[records[index].shard]) (\(paths[index]))"
    }

    public func read(_ index: Int, into buffer: inout [UInt8]) throws -> Int {
        let record = records[index]
        try readFully(
            descriptors[record.shard], offset: record.offset, length: record.length, into: &buffer,
            path: name(of: index))
        return record.length
    }
}

/// `pack.json`: what a packed set holds.
public struct PackManifest: Codable, Equatable, Sendable {
    public struct Split: Codable, Equatable, Sendable {
        public var count: Int
        public var shards: [String]
    }

    public static let currentFormat = "cnn-dist packed images 1"
    public var format: String
    public var classes: [String]
    public var splits: [String: Split]
    /// The shorter side images were resized to when packed (re-encoded as JPEG); nil: the original bytes.
    public var resize: Int?

    public static func read(directory: String) throws -> PackManifest {
        let path = ImageFileList.join(directory, PackedImages.manifestName)
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.fileNotFound(path: path) }
        let manifest: PackManifest
        do { manifest = try JSONDecoder().decode(PackManifest.self, from: data) } catch {
            throw DataError.badImageFolder(path: path, reason: "not a packed set's manifest: \(error)")
        }
        guard manifest.format == currentFormat else {
            throw DataError.badImageFolder(
                path: path, reason: "format '\(manifest.format)', this build reads '\(currentFormat)'")
        }
        return manifest
    }
}
