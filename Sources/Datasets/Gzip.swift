import CZlib
import Foundation

/// Whole-file reading with transparent gunzip (zlib), so `.gz` and plain data sets read alike.
enum Gzip {
    /// The file's bytes, decompressed when they start with the gzip magic 1f 8b (whatever the
    /// file's name), returned as they are otherwise.
    static func readFile(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw DataError.unreadable(path: path, reason: "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        return try inflate(bytes, path: path)
    }

    /// Decompresses every gzip member in `bytes` (concatenated members are legal gzip, as
    /// `cat a.gz b.gz` makes). The header's size field is never trusted: output grows as
    /// zlib produces it, and zlib checks each member's CRC and length itself.
    static func inflate(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(min(bytes.count * 5, 1 << 30))
        var stream = z_stream()
        // windowBits 15 + 32: zlib detects and checks the gzip header and trailer itself.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "zlib could not start: out of memory?")
        }
        defer { inflateEnd(&stream) }
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try bytes.withUnsafeBufferPointer { input in
            var consumed = 0
            // zlib counts in UInt32: feed the input in pieces so any file size works.
            func refill() {
                if stream.avail_in == 0 && consumed < input.count {
                    let piece = min(input.count - consumed, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + consumed)
                    stream.avail_in = UInt32(piece)
                    consumed += piece
                }
            }
            refill()
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(chunkSize)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunkSize - Int(stream.avail_out))])
                refill()
                let inputLeft = stream.avail_in > 0 || consumed < input.count
                switch status {
                case Z_STREAM_END:
                    // Another member may follow; anything that is not a member is an error.
                    guard inputLeft else { return }
                    guard inflateReset(&stream) == Z_OK else {
                        throw DataError.corruptGzip(path: path, reason: "cannot continue after a member")
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where !inputLeft:
                    throw DataError.corruptGzip(path: path, reason: "unexpected end of file: truncated download?")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw DataError.corruptGzip(path: path, reason: message)
                }
            }
        }
        return output
    }
}
