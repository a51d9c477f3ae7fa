/// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78), the checksum TFRecord files carry,
/// computed a byte at a time from a 256-entry table: an events file gets a few hundred bytes a
/// step, so the table is fast enough and slicing-by-8 or SSE4.2's crc32 would only add code.
public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes` (`checksum(of: "123456789".utf8)` is 0xE3069283).
    public static func checksum<Bytes: Sequence>(of bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The checksum as TFRecord stores it: rotated and offset, because a CRC computed over data
    /// that holds its own CRC is weak (TensorFlow's crc32c::Mask).
    public static func masked<Bytes: Sequence>(of bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let crc = checksum(of: bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
