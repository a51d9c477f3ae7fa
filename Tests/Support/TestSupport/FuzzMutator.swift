/// Seeded mutations of valid inputs for bounded fuzz tests: the same edits on every run
/// (SplitMix64), so a failure reproduces.
public struct FuzzMutator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// One to four edits: a byte replaced or a bit flipped, a run deleted or duplicated, the input
    /// cut short, or one of `insertions` (format punctuation, numbers) put in.
    public mutating func mutate(_ bytes: [UInt8], insertions: [[UInt8]] = []) -> [UInt8] {
        var out = bytes
        for _ in 0..<(1 + below(4)) {
            let at = below(out.count + 1)
            switch below(insertions.isEmpty ? 6 : 7) {
            case 0 where !out.isEmpty: out[min(at, out.count - 1)] = UInt8(truncatingIfNeeded: next())
            case 1 where !out.isEmpty: out[min(at, out.count - 1)] ^= UInt8(1 << below(8))
            case 2 where !out.isEmpty: out.removeSubrange(at..<min(out.count, at + 1 + below(16)))
            case 3: out.insert(contentsOf: out[at..<min(out.count, at + below(40))], at: at)
            case 4 where below(4) == 0: out.removeSubrange(at..<out.count)
            case 6: out.insert(contentsOf: insertions[below(insertions.count)], at: at)
            default: out.insert(contentsOf: Array(String(Int(next() % 1_000_000) - 500_000).utf8), at: at)
            }
        }
        return out
    }
}
