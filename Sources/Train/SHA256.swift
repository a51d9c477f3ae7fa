/// SHA-256 (FIPS 180-4), streaming; checksums of checkpoint tensor data.
///
/// Pure Swift, no allocation while hashing: whole 64-byte blocks are compressed straight from the
/// caller's buffer, and only a partial block (< 64 bytes) is copied into an inline buffer.
///
///     var digest = SHA256()
///     digest.update(rawBuffer)
///     let hex = SHA256.hex(digest.finalize())   // hex-encodes the 32-byte digest
///
/// Note the two `hex` overloads differ: `hex(_: UnsafeRawBufferPointer)` hashes the bytes and
/// returns the digest's hex; `hex(_: [UInt8])` only hex-encodes the bytes it is given (a digest).
public struct SHA256 {
    private var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85, h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    private var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c, h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    /// Partial block, inline (no heap): 64 bytes.
    private var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes held in `buffer`, 0..<64.
    private var buffered: Int = 0
    /// Total message length in bytes (mod 2^64; the bit length is taken mod 2^64 as FIPS requires).
    private var length: UInt64 = 0

    public init() {}

    /// Absorbs `bytes`. Any split of a message into `update` calls gives the same digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress, bytes.count > 0 else { return }
        var base = start
        var count = bytes.count
        length &+= UInt64(count)
        if buffered > 0 {
            let take = Swift.min(64 - buffered, count)
            let filled = buffered
            withUnsafeMutableBytes(of: &buffer) { block in
                (block.baseAddress! + filled).copyMemory(from: base, byteCount: take)
            }
            buffered += take
            base += take
            count -= take
            guard buffered == 64 else { return }
            let block = buffer
            withUnsafeBytes(of: block) { compress($0.baseAddress!, blocks: 1) }
            buffered = 0
        }
        let whole = count / 64
        if whole > 0 {
            compress(base, blocks: whole)
            base += whole * 64
            count -= whole * 64
        }
        if count > 0 {
            withUnsafeMutableBytes(of: &buffer) { block in
                block.baseAddress!.copyMemory(from: base, byteCount: count)
            }
            buffered = count
        }
    }

    /// Convenience for any byte sequence; contiguous collections (e.g. `[UInt8]`) take the fast
    /// path, others are gathered in 4 KiB chunks.
    public mutating func update<D: Sequence>(_ bytes: D) where D.Element == UInt8 {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        var chunk = [UInt8]()
        chunk.reserveCapacity(4096)
        for byte in bytes {
            chunk.append(byte)
            if chunk.count == 4096 {
                chunk.withUnsafeBytes { update($0) }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { chunk.withUnsafeBytes { update($0) } }
    }

    /// Pads, compresses the last block(s) and returns the 32-byte digest. Do not use the value after.
    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        // 0x80, zeros up to 56 mod 64, then the 64-bit big-endian bit length: 9...72 bytes.
        var tail = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                    UInt64(0), UInt64(0))
        let padding = buffered < 56 ? 56 - buffered : 120 - buffered
        withUnsafeMutableBytes(of: &tail) { t in
            t[0] = 0x80
            t.storeBytes(of: bitLength.bigEndian, toByteOffset: padding, as: UInt64.self)
            update(UnsafeRawBufferPointer(rebasing: t[0..<(padding + 8)]))
        }
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBytes { d in
            for (i, word) in [h0, h1, h2, h3, h4, h5, h6, h7].enumerated() {
                d.storeBytes(of: word.bigEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        }
        return digest
    }

    /// One-shot: SHA-256 of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hex(hasher.finalize())
    }

    /// Lowercase hex of `data` (two digits per byte), e.g. of a digest from `finalize()`.
    /// This does not hash; for a one-shot digest use `hex(_: UnsafeRawBufferPointer)`.
    public static func hex(_ data: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(data.count * 2)
        for byte in data {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Compression

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
        (x &>> n) | (x &<< (32 &- n))
    }

    /// One round; the caller rotates the roles of a...h instead of moving values.
    @inline(__always) private static func step(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
        _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32
    ) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ (g ^ (e & (f ^ g))) &+ kw
        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) | (c & (a | b)))
        d &+= t1
        h = t1 &+ t2
    }

    /// Compresses `blocks` consecutive 64-byte blocks at `data` (any alignment).
    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        var a0 = h0, b0 = h1, c0 = h2, d0 = h3, e0 = h4, f0 = h5, g0 = h6, h0_ = h7
        SHA256.k.withUnsafeBufferPointer { kBuffer in
            let k = kBuffer.baseAddress!
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wBuffer in
                let w = wBuffer.baseAddress!
                var p = data
                for _ in 0..<blocks {
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self))
                    }
                    var i = 16
                    while i < 64 {
                        let x = w[i &- 15], y = w[i &- 2]
                        let s0 = Self.rotr(x, 7) ^ Self.rotr(x, 18) ^ (x &>> 3)
                        let s1 = Self.rotr(y, 17) ^ Self.rotr(y, 19) ^ (y &>> 10)
                        w[i] = w[i &- 16] &+ s0 &+ w[i &- 7] &+ s1
                        i &+= 1
                    }
                    var a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, h = h0_
                    var r = 0
                    while r < 64 {
                        Self.step(a, b, c, &d, e, f, g, &h, k[r] &+ w[r])
                        Self.step(h, a, b, &c, d, e, f, &g, k[r &+ 1] &+ w[r &+ 1])
                        Self.step(g, h, a, &b, c, d, e, &f, k[r &+ 2] &+ w[r &+ 2])
                        Self.step(f, g, h, &a, b, c, d, &e, k[r &+ 3] &+ w[r &+ 3])
                        Self.step(e, f, g, &h, a, b, c, &d, k[r &+ 4] &+ w[r &+ 4])
                        Self.step(d, e, f, &g, h, a, b, &c, k[r &+ 5] &+ w[r &+ 5])
                        Self.step(c, d, e, &f, g, h, a, &b, k[r &+ 6] &+ w[r &+ 6])
                        Self.step(b, c, d, &e, f, g, h, &a, k[r &+ 7] &+ w[r &+ 7])
                        r &+= 8
                    }
                    a0 &+= a; b0 &+= b; c0 &+= c; d0 &+= d; e0 &+= e; f0 &+= f; g0 &+= g; h0_ &+= h
                    p += 64
                }
            }
        }
        h0 = a0; h1 = b0; h2 = c0; h3 = d0; h4 = e0; h5 = f0; h6 = g0; h7 = h0_
    }
}
