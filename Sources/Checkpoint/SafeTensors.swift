import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping
/// each tensor name to its dtype, shape and byte range, then the raw little-endian data.
/// Training state goes in the header's `__metadata__` map (string → string).
public enum SafeTensors {
    /// One tensor of a file read: its values stay in the file's (mapped) bytes until asked for.
    public struct Entry: Equatable {
        public var name: String
        public var shape: [Int]
        /// The tensor's bytes (little-endian Float32), a slice of the file's data.
        public var bytes: Data

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            bytes = values.withUnsafeBytes { Data($0) }
        }

        init(name: String, shape: [Int], bytes: Data) {
            self.name = name
            self.shape = shape
            self.bytes = bytes
        }

        public var count: Int { bytes.count / MemoryLayout<Float>.size }

        /// A copy of the values.
        public var values: [Float] {
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                copy(to: buffer.baseAddress.map { UnsafeMutableRawPointer($0) })
                initialized = count
            }
        }

        /// Copies the values to `target`, which holds `count` floats.
        public func copy(to target: UnsafeMutableRawPointer?) {
            guard let target, count > 0 else { return }
            bytes.withUnsafeBytes { source in
                if let start = source.baseAddress { target.copyMemory(from: start, byteCount: count * 4) }
            }
        }
    }

    public struct File: Equatable {
        public var tensors: [Entry]
        public var metadata: [String: String]

        public subscript(name: String) -> Entry? { tensors.first { $0.name == name } }
    }

    /// A tensor to write: its name, shape and the memory holding its values.
    public typealias View = (name: String, shape: [Int], data: UnsafeBufferPointer<Float>)

    /// The file's bytes. Tensors are laid out in the given order.
    public static func encode(tensors: [View], metadata: [String: String]) -> Data {
        var header = Header(metadata: metadata, tensors: [:])
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.data.count * 4
            header.tensors[tensor.name] = TensorInfo(dtype: "F32", shape: tensor.shape,
                                                     dataOffsets: [offset, offset + bytes])
            offset += bytes
        }
        var json = header.encoded()
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        // Float32 is little-endian on every platform Swift supports here.
        for tensor in tensors { out.append(contentsOf: UnsafeRawBufferPointer(tensor.data)) }
        return out
    }

    /// Parses a safetensors file's bytes; `source` names the file in errors. Entries are slices of
    /// `bytes`: nothing is copied.
    public static func decode(_ bytes: Data, source: String) throws -> File {
        func fail(_ reason: String) -> CheckpointError { .malformed(path: source, reason: reason) }
        let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
        guard bytes.count >= 8 else { throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file size \(bytes.count) (truncated file?)")
        }
        let header = try Header.decode(bytes[8..<(8 + Int(headerLength))], fail: fail)
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart
        var entries: [(Int, Entry)] = []
        for (name, info) in header.tensors {
            // F32, and I64 as PyTorch saves integer buffers (BatchNorm's num_batches_tracked), read as F32.
            guard let width = ["F32": 4, "I64": 8][info.dtype] else {
                throw fail("tensor '\(name)' has dtype \(info.dtype); only F32 (and I64, read as F32) is supported")
            }
            let shape = info.shape, offsets = info.dataOffsets
            // Checked arithmetic: a hostile or corrupted shape must be an error, not a trap.
            var count: Int? = 1
            for extent in shape {
                guard let soFar = count, extent >= 0 else { count = nil; break }
                let (product, overflow) = soFar.multipliedReportingOverflow(by: extent)
                count = overflow || product > dataLength ? nil : product
            }
            guard let count else { throw fail("tensor '\(name)' has impossible shape \(shape) for \(dataLength) data bytes") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] - offsets[0] == count * width,
                  offsets[1] <= dataLength else {
                throw fail("tensor '\(name)' (shape \(shape)) has byte range \(offsets) outside the \(dataLength) data bytes (truncated file?)")
            }
            var data = bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])]
            if width == 8 { data = float32(fromInt64: data, count: count) }
            entries.append((offsets[0], Entry(name: name, shape: shape, bytes: data)))
        }
        return File(tensors: entries.sorted { $0.0 < $1.0 }.map(\.1), metadata: header.metadata)
    }

    /// Little-endian Int64 values as Float32 (exact below 2²⁴, as counts are).
    static func float32(fromInt64 bytes: Data, count: Int) -> Data {
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                values[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            }
        }
        return values.withUnsafeBytes { Data($0) }
    }

    /// Reads a file by mapping it: a 1.6 GB VGG-16 checkpoint is paged in as its tensors are copied
    /// into the model, not loaded whole and copied again.
    public static func read(path: String) throws -> File {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw CheckpointError.unreadable(path: path)
        }
        return try decode(bytes, source: path)
    }
}

/// One tensor's entry in the JSON header.
struct TensorInfo: Codable, Equatable {
    var dtype: String
    var shape: [Int]
    var dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape, dataOffsets = "data_offsets"
    }
}

/// The JSON header: tensor entries and the `__metadata__` string map, side by side in one object.
struct Header {
    static let metadataKey = "__metadata__"

    var metadata: [String: String]
    var tensors: [String: TensorInfo]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Object: Codable {
        var header: Header

        init(header: Header) { self.header = header }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            var header = Header(metadata: [:], tensors: [:])
            for key in container.allKeys {
                if key.stringValue == Header.metadataKey {
                    header.metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    header.tensors[key.stringValue] = try container.decode(TensorInfo.self, forKey: key)
                }
            }
            self.header = header
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            if !header.metadata.isEmpty {
                try container.encode(header.metadata, forKey: Key(stringValue: Header.metadataKey))
            }
            for (name, info) in header.tensors { try container.encode(info, forKey: Key(stringValue: name)) }
        }
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and maps of them always encode.
        return (try? encoder.encode(Object(header: self))) ?? Data("{}".utf8)
    }

    static func decode(_ bytes: Data, fail: (String) -> CheckpointError) throws -> Header {
        do {
            return try JSONDecoder().decode(Object.self, from: bytes).header
        } catch DecodingError.typeMismatch(_, let context), DecodingError.keyNotFound(_, let context),
                DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context)
                where !context.codingPath.isEmpty {
            guard let name = context.codingPath.first?.stringValue else { throw fail("header is not a JSON object") }
            if name == metadataKey { throw fail("\(metadataKey) is not a map of strings") }
            throw fail("tensor '\(name)' has no valid dtype, shape and data_offsets")
        } catch {
            throw fail("header is not a JSON object")
        }
    }
}
