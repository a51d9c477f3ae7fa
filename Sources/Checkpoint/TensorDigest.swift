import Crypto

/// SHA-256 over tensor bytes as checkpoints record it (`tensor_sha256`): lower-case hex of
/// swift-crypto's SHA256 (BoringSSL's on Linux, CryptoKit's on Apple platforms).
public struct TensorDigest {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    /// The digest of everything passed to `update`, as 64 hex digits.
    public func hex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in hasher.finalize() {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The digest of one buffer.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = TensorDigest()
        digest.update(bytes)
        return digest.hex()
    }
}
