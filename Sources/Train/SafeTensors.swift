import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping
/// each tensor name to its dtype, shape and byte range, then the raw little-endian data.
/// Training state goes in the header's `__metadata__` map (string → string).
public enum SafeTensors {
    public struct Entry: Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
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
    public static func encode(tensors: [View],
                              metadata: [String: String]) -> Foundation.Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for tensor in tensors {
            let bytes = tensor.data.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Foundation.Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for tensor in tensors {
            // Float32 is little-endian on every platform Swift supports here.
            out.append(UnsafeBufferPointer(start: UnsafeRawPointer(tensor.data.baseAddress!)
                .assumingMemoryBound(to: UInt8.self), count: tensor.data.count * 4))
        }
        return out
    }

    /// Parses a safetensors file's bytes; `source` names the file in errors.
    public static func decode(_ bytes: Foundation.Data, source: String) throws -> File {
        func fail(_ reason: String) -> CheckpointError { .malformed(path: source, reason: reason) }
        guard bytes.count >= 8 else { throw fail("file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file size \(bytes.count) (truncated file?)")
        }
        let headerData = bytes.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: String] else { throw fail("__metadata__ is not a map of strings") }
            metadata = map
        }
        var entries: [(Int, Entry)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor '\(name)' has no valid dtype, shape and data_offsets") }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            // Checked arithmetic: a hostile or corrupted shape must be an error, not a trap.
            var count: Int? = 1
            for extent in shape {
                guard let soFar = count, extent >= 0 else { count = nil; break }
                let (product, overflow) = soFar.multipliedReportingOverflow(by: extent)
                count = overflow || product > dataLength ? nil : product
            }
            guard let count else { throw fail("tensor '\(name)' has impossible shape \(shape) for \(dataLength) data bytes") }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] - offsets[0] == count * 4,
                  offsets[1] <= dataLength else {
                throw fail("tensor '\(name)' (shape \(shape)) has byte range \(offsets) outside the \(dataLength) data bytes (truncated file?)")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
                }
            }
            entries.append((offsets[0], Entry(name: name, shape: shape, values: values)))
        }
        return File(tensors: entries.sorted { $0.0 < $1.0 }.map(\.1), metadata: metadata)
    }

    public static func read(path: String) throws -> File {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CheckpointError.unreadable(path: path)
        }
        return try decode(bytes, source: path)
    }
}

/// Problems with checkpoint files, each naming the file.
public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case checksumMismatch(path: String, expected: String, actual: String)
    case incompatible(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "\(path): cannot be read (missing or no permission)"
        case .malformed(let path, let reason): return "\(path): not a valid safetensors checkpoint: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot be written: \(reason)"
        case .checksumMismatch(let path, let expected, let actual):
            return "\(path): checksum mismatch: the tensor data hashes to \(actual), the file records \(expected)"
                + " (corrupted or modified file); use an older checkpoint"
        case .incompatible(let path, let reason): return "\(path): does not fit this run: \(reason)"
        }
    }
}
