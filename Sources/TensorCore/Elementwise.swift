// Element-wise kernels over raw buffers. Chunks are large (≥ 16K elements per thread)
// so thread start-up never dominates; small buffers run inline.

public enum Elementwise {
    static let chunk = 1 << 14

    /// y = max(x, 0)
    public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, ReLUForward(x: x, y: y))
    }

    /// z = max(x + y, 0): a residual sum and its ReLU in one pass.
    public static func addRelu(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>,
                               count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, AddReLU(x: x, y: y, z: z))
    }

    /// dx = dy where y > 0, else 0 (uses the forward output, which is > 0 exactly where x > 0).
    public static func reluBackward(output y: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                    gradInput dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, ReLUBackward(y: y, dy: dy, dx: dx))
    }

    /// `reluBackward` where the output is bf16 bits (a residual block's sum kept at its own size).
    public static func reluBackward(outputBits y: UnsafeRawPointer, gradOutput dy: UnsafePointer<Float>,
                                    gradInput dx: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, ReLUBackwardFromBits(y: BFloat16Values(y), dy: dy, dx: dx))
    }

    /// z = x + y
    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>,
                           count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, Add(x: x, y: y, z: z))
    }

    /// z = x + y rounded to bf16 (ties to even, NaN made quiet), in one pass: autocast's sum of
    /// two bf16 tensors.
    public static func addRoundingToBFloat16(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: chunk, AddRounding(x: x, y: y, z: z))
    }

    /// z = x · y
    public static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                into z: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, Multiply(x: x, y: y, z: z))
    }

    /// y += alpha · x
    public static func axpy(alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: chunk, AXPY(alpha: alpha, x: x, y: y))
    }

    /// x *= alpha
    public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
        for i in 0..<count { x[i] *= alpha }
    }

    /// Adds `bias[c]` to every element of plane c in a [batch, channels, planeSize] buffer.
    public static func addChannelBias(_ bias: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>,
                                      batch: Int, channels: Int, planeSize: Int) {
        Parallel.forEachRange(batch, ChannelBias(bias: bias, x: x, channels: channels, planeSize: planeSize))
    }

    // The loop bodies (see ParallelBody).

    // The ReLU bodies run in place too (output = input, or gradient in = gradient out).
    // LLVM's auto-vectorizer guards its vector loop with a no-overlap check, and an exact
    // alias fails it: the in-place calls ran the scalar fallback, 9–15 % of a training
    // step. Explicit 16-lane loops read each vector before writing it, so an exact alias
    // is fine (partial overlaps do not occur here).

    struct ReLUForward: ParallelBody {
        let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) {
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: SIMD16<Float>().replacing(with: v, where: v .> 0),
                                                          as: SIMD16<Float>.self)
                i += 16
            }
            while i < range.upperBound { y[i] = x[i] > 0 ? x[i] : 0; i += 1 }
        }
    }

    struct AddReLU: ParallelBody {
        let x: UnsafePointer<Float>, y: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) {
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                    + UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(z + i).storeBytes(of: SIMD16<Float>().replacing(with: v, where: v .> 0),
                                                          as: SIMD16<Float>.self)
                i += 16
            }
            while i < range.upperBound {
                let v = x[i] + y[i]
                z[i] = v > 0 ? v : 0
                i += 1
            }
        }
    }

    struct ReLUBackward: ParallelBody {
        let y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) {
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let out = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: SIMD16<Float>().replacing(with: g, where: out .> 0),
                                                           as: SIMD16<Float>.self)
                i += 16
            }
            while i < range.upperBound { dx[i] = y[i] > 0 ? dy[i] : 0; i += 1 }
        }
    }

    struct ReLUBackwardFromBits: ParallelBody {
        let y: BFloat16Values, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) {
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
                let masked = SIMD8<Float>().replacing(with: g, where: y.load8(i) .> 0)
                UnsafeMutableRawPointer(dx + i).storeBytes(of: masked, as: SIMD8<Float>.self)
                i += 8
            }
            while i < range.upperBound { dx[i] = y.load(i) > 0 ? dy[i] : 0; i += 1 }
        }
    }

    struct Add: ParallelBody {
        let x: UnsafePointer<Float>, y: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) { for i in range { z[i] = x[i] + y[i] } }
    }

    struct AddRounding: ParallelBody {
        let x: UnsafePointer<Float>, y: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) { for i in range { z[i] = BFloat16.round(x[i] + y[i]) } }
    }

    struct Multiply: ParallelBody {
        let x: UnsafePointer<Float>, y: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) { for i in range { z[i] = x[i] * y[i] } }
    }

    struct AXPY: ParallelBody {
        let alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>
        func run(_ range: Range<Int>) { for i in range { y[i] += alpha * x[i] } }
    }

    struct ChannelBias: ParallelBody {
        let bias: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, channels: Int, planeSize: Int
        func run(_ range: Range<Int>) {
            for n in range {
                for c in 0..<channels {
                    let b = bias[c]
                    let plane = x + (n * channels + c) * planeSize
                    for i in 0..<planeSize { plane[i] += b }
                }
            }
        }
    }
}

public enum Reduction {
    /// Sum of `count` elements, accumulated in Double for stability: four 8-lane accumulators
    /// (independent add chains; one scalar chain waited on each add's latency, and summing
    /// convolutions' output gradients into their bias gradients that way took most of VGG-16's
    /// Winograd filter-gradient pass).
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let raw = UnsafeRawPointer(x)
        @inline(__always) func widened(_ i: Int) -> SIMD8<Double> {
            SIMD8<Double>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        }
        var s0 = SIMD8<Double>(), s1 = s0, s2 = s0, s3 = s0
        var i = 0
        while i + 32 <= count {
            s0 += widened(i); s1 += widened(i + 8); s2 += widened(i + 16); s3 += widened(i + 24)
            i += 32
        }
        while i + 8 <= count {
            s0 += widened(i)
            i += 8
        }
        var total = ((s0 + s1) + (s2 + s3)).sum()
        while i < count { total += Double(x[i]); i += 1 }
        return total
    }

    /// Sum of squares, accumulated in Double.
    /// True when no element is NaN or ±Inf (x·0 is 0 exactly for finite x, NaN otherwise).
    public static func allFinite(_ x: UnsafePointer<Float>, count: Int) -> Bool {
        var probe = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            probe += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * 0
            i += 8
        }
        var tail: Float = 0
        while i < count { tail += x[i] * 0; i += 1 }
        return probe.sum() == 0 && tail == 0
    }

    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        for i in 0..<count { total += Double(x[i]) * Double(x[i]) }
        return total
    }

    /// Column sums of a [rows, columns] matrix: out[j] = Σ_i x[i, j] (overwrites `out`).
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(repeating: 0, count: columns)
        for i in 0..<rows {
            let row = x + i * columns
            for j in 0..<columns { out[j] += row[j] }
        }
    }

    /// Index of the largest element in each row of a [rows, columns] matrix.
    public static func argmaxRows(_ x: UnsafePointer<Float>, rows: Int, columns: Int) -> [Int] {
        (0..<rows).map { i in
            let row = x + i * columns
            var best = 0
            for j in 1..<columns where row[j] > row[best] { best = j }
            return best
        }
    }
}
