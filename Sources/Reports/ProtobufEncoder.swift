/// Protocol Buffers' wire format, the four field encodings the TensorBoard event messages use.
/// Written by hand because those messages are tiny (an event, a summary value, its metadata, a
/// string tensor): swift-protobuf would bring a dependency and protoc-generated code for them.
/// Fields are appended in the order called; a nested message is encoded first, then added as bytes.
struct ProtobufEncoder {
    private(set) var encoded: [UInt8] = []

    /// Wire types (the low three bits of a field's key).
    private enum WireType: UInt64 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    /// Base-128, least significant group first, the high bit set on every byte but the last.
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var result: [UInt8] = []
        while value >= 0x80 {
            result.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        result.append(UInt8(value))
        return result
    }

    private mutating func key(_ field: Int, _ type: WireType) {
        encoded += Self.varint(UInt64(field) << 3 | type.rawValue)
    }

    /// int64, int32, enum and bool fields; a negative number takes ten bytes, as protobuf's int64 does.
    mutating func integer(_ field: Int, _ value: Int64) {
        key(field, .varint)
        encoded += Self.varint(UInt64(bitPattern: value))
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { encoded += $0 }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { encoded += $0 }
    }

    /// bytes, string and embedded-message fields: the length, then the bytes.
    mutating func bytes<Bytes: Collection>(_ field: Int, _ value: Bytes) where Bytes.Element == UInt8 {
        key(field, .lengthDelimited)
        encoded += Self.varint(UInt64(value.count))
        encoded += value
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ value: ProtobufEncoder) { bytes(field, value.encoded) }
}
