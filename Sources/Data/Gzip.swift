import CZlib
import Foundation

/// Whole-file reading with transparent gunzip (zlib), for `.gz` data sets.
enum Gzip {
    /// The file's bytes, decompressed when it starts with the gzip magic 1f 8b.
    static func readFile(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        return try inflate(bytes, path: path)
    }

    /// Decompresses every gzip member in `bytes` (concatenated members are legal gzip).
    static func inflate(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 4)
        var stream = z_stream()
        // windowBits 15 + 32: zlib detects and checks the gzip header and trailer itself.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if status == Z_STREAM_END {
                    // Another member may follow; anything else after the end is an error.
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError.corruptGzip(path: path, reason: "cannot continue after a member")
                    }
                    continue
                }
                guard status == Z_OK else {
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw DataError.corruptGzip(path: path, reason: message)
                }
                if stream.avail_in == 0 && stream.avail_out != 0 {
                    throw DataError.corruptGzip(path: path, reason: "unexpected end of file (truncated download?)")
                }
            }
        }
        return output
    }
}
