import CAtomics

// Whether a tensor already holds bfloat16 values, so a bf16 layer can use it as it is instead
// of writing a rounded copy. In autocast a convolution's output is bf16, and ReLU and max
// pooling keep bf16 values bf16, as do their gradients where pooling windows do not overlap
// (overlapping ones add gradients): VGG's convolutions get inputs and output gradients that
// rounding would not change. Reading them once is cheaper than reading them and writing a
// copy, and the kernel then reads the same values.

extension BFloat16Rounding {
    /// Whether every value equals, bit for bit, what `round` would write for it (finite bf16
    /// values, ±0, ±∞, quiet NaNs with a zero low half). Read-only, on the worker threads, which
    /// stop at the first block holding a value that is not.
    public static func holdsOnlyBFloat16Values(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        guard count > 0 else { return true }
        var foundOther = 0
        withUnsafeMutablePointer(to: &foundOther) { flag in
            let blocks = (count + checkBlock - 1) / checkBlock
            Parallel.forEachRange(
                blocks, minimumChunk: Swift.max(1, valuesPerThread / checkBlock),
                CheckBlocks(values: values, count: count, foundOther: flag))
        }
        return foundOther == 0
    }

    /// Values checked between looks at whether another thread has found one already.
    static let checkBlock = 4096

    struct CheckBlocks: ParallelBody {
        let values: UnsafePointer<Float>, count: Int
        let foundOther: UnsafeMutablePointer<Int>

        func run(_ range: Range<Int>) {
            for block in range {
                if cnn_atomic_load(foundOther) != 0 { return }
                let start = block * checkBlock, end = Swift.min(count, start + checkBlock)
                if !blockHoldsOnlyBFloat16Values(values + start, count: end - start) {
                    cnn_atomic_store(foundOther, 1)
                    return
                }
            }
        }
    }

    /// The check on one run: the bits that rounding would change, or-ed over 16 lanes at a time.
    static func blockHoldsOnlyBFloat16Values(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        let raw = UnsafeRawPointer(values)
        var changed = SIMD16<UInt32>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<UInt32>.self)
            changed |= BFloat16Lanes.rounded(x) ^ x
            i += 16
        }
        if changed != SIMD16<UInt32>(repeating: 0) { return false }
        while i < count {
            let x = values[i].bitPattern
            if BFloat16.roundedBits(x) != x { return false }
            i += 1
        }
        return true
    }
}
