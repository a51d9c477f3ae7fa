import Foundation

/// Writes a packed image set (`PackedImages`) from image folders: each split's files in
/// ImageFolder order, copied byte for byte, or with `resize` decoded, shrunk so the shorter
/// side is `resize` (Pillow's antialiased filter) and re-encoded as JPEG of `quality`.
public struct PackedImagesWriter {
    public var shardBytes = 1 << 30
    public var resize: Int?
    public var quality = 90

    public init(shardBytes: Int = 1 << 30, resize: Int? = nil, quality: Int = 90) {
        self.shardBytes = shardBytes
        self.resize = resize
        self.quality = quality
    }

    /// Packs `splits` (name → file list; all with the same classes) into `directory`; returns the manifest.
    public func pack(_ splits: [String: ImageFileList], into directory: String) throws -> PackManifest {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let classes = splits.values.first?.classNames else {
            throw DataError.badImageFolder(path: directory, reason: "nothing to pack")
        }
        var manifest = PackManifest(format: PackManifest.currentFormat, classes: classes, splits: [:], resize: resize)
        for (name, list) in splits.sorted(by: { $0.key < $1.key }) {
            manifest.splits[name] = try packSplit(name, list, into: directory)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(try encoder.encode(manifest), to: ImageFileList.join(directory, PackedImages.manifestName))
        return manifest
    }

    private func packSplit(_ name: String, _ list: ImageFileList, into directory: String) throws -> PackManifest.Split {
        let images = FolderImages(list)
        var shards: [String] = [], index = Data(), buffer: [UInt8] = [], current = Data()
        let decoder = ImageDecoder(), resampler = ImageResampler()
        var decoded = DecodedImage(width: 0, height: 0, channels: 3, pixels: [])
        func flush() throws {
            guard !current.isEmpty else { return }
            let shard = String(format: "%@-%05d.bin", name, shards.count)
            try write(current, to: ImageFileList.join(directory, shard))
            shards.append(shard)
            current = Data()
        }
        for i in 0..<images.count {
            let length = try images.read(i, into: &buffer)
            var bytes = Array(buffer[0..<length])
            if let resize {
                bytes =
                    try shrink(
                        bytes, to: resize, name: images.name(of: i), decoder: decoder, resampler: resampler,
                        decoded: &decoded) ?? bytes
            }
            if !current.isEmpty && current.count + bytes.count > shardBytes { try flush() }
            var record = [UInt8]()
            func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { record += $0 } }
            append(UInt32(shards.count))
            append(list.labels[i])
            append(UInt64(current.count))
            append(UInt64(bytes.count))
            index.append(contentsOf: record)
            current.append(contentsOf: bytes)
        }
        try flush()
        try write(index, to: ImageFileList.join(directory, "\(name).index"))
        try write(
            Data((list.paths.joined(separator: "\n") + "\n").utf8), to: ImageFileList.join(directory, "\(name).paths"))
        return PackManifest.Split(count: images.count, shards: shards)
    }

    /// The image re-encoded with its shorter side `side`, or nil when it is not larger than that.
    private func shrink(
        _ bytes: [UInt8], to side: Int, name: String, decoder: ImageDecoder, resampler: ImageResampler,
        decoded: inout DecodedImage
    ) throws -> [UInt8]? {
        do {
            _ = try bytes.withUnsafeBytes { try decoder.decode($0, channels: 3, into: &decoded) }
        } catch let error as ImageDecodingError {
            throw DataError.badImage(path: name, reason: error.reason)
        }
        guard min(decoded.width, decoded.height) > side else { return nil }
        let size = ImageGeometry.resizedSize(width: decoded.width, height: decoded.height, shorter: side)
        var output = DecodedImage(
            width: size.width, height: size.height, channels: 3,
            pixels: [UInt8](repeating: 0, count: size.width * size.height * 3))
        let horizontal = ImageResampler.Axis(
            box: 0...Double(decoded.width), origin: 0, bounds: 0..<decoded.width,
            outputSize: size.width, outputs: 0..<size.width)
        let vertical = ImageResampler.Axis(
            box: 0...Double(decoded.height), origin: 0, bounds: 0..<decoded.height,
            outputSize: size.height, outputs: 0..<size.height)
        output.pixels.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            resampler.resample(decoded, horizontal: horizontal, vertical: vertical, into: base)
        }
        return try ImageEncoder.jpeg(output, quality: quality)
    }

    private func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw DataError.unreadable(path: path, reason: "cannot be written: \(error.localizedDescription)")
        }
    }
}
