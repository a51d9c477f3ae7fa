// Seeded, splittable random numbers (SplitMix64).
//
// Every random stream in cnn-dist is derived from the run's seed by `split(_:)` with a
// fixed key path (for example seed → "init" → layer index, or seed → epoch), so a stream
// is a pure function of where it is used: resume and multi-rank runs replay it exactly.

public struct RandomGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = RandomGenerator.mix(seed &+ 0x9E37_79B9_7F4A_7C15) }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return RandomGenerator.mix(state)
    }

    /// An independent stream identified by `key`; does not advance `self`.
    public func split(_ key: UInt64) -> RandomGenerator {
        RandomGenerator(seed: RandomGenerator.mix(state ^ RandomGenerator.mix(key &+ 0x632B_E59B_D9B4_E019)))
    }

    /// An independent stream identified by a string key (stable FNV-1a hash).
    public func split(_ key: String) -> RandomGenerator {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return split(hash)
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Uniform in [low, high).
    @inline(__always)
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnitFloat()
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        let radius = (-2.0 * log(Swift.max(u1, 1e-300))).squareRoot()
        return Float(radius * cos(2.0 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }

    /// A uniformly random permutation of 0..<count (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var result = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                result.swapAt(i, nextInt(below: i + 1))
            }
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif
