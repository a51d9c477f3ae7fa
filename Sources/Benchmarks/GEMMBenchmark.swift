import Foundation
import Reports
import TensorCore

/// SGEMM throughput, C = A·B on square n×n float32 matrices, timed as
/// ../shared/peers/gemm.py times NumPy: three untimed calls, then as many calls as fit in
/// a 0.5 s window, rate = 2n³ · calls / elapsed. With several repeats the best window counts.
/// In bf16 it times `BFloat16GEMM` (operands rounded to bf16 while packing, Float32 sums) on the
/// path given (AMX, AVX512-BF16 or the emulation), which the result names.
public enum GEMMBenchmark {
    public struct Result: Encodable, Sendable {
        public var size: Int
        public var threads: Int
        public var gflops: Double
        public var precision = ComputePrecision.fp32
        /// The kernels that ran: "fp32", or the bf16 path (amx, avx512bf16, emulated, fp32).
        public var path = "fp32"

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(size, forKey: .size)
            try c.encode(threads, forKey: .threads)
            try c.encodeNumber(rounded(gflops, places: 1), forKey: .gflops)
            try c.encode(precision.rawValue, forKey: .precision)
            try c.encode(path, forKey: .path)
        }

        enum CodingKeys: String, CodingKey { case size, threads, gflops, precision, path }

        public var jsonLine: String { JSONLines.encode(self) }
    }

    public static func run(size n: Int, threads: Int, repeats: Int = 3, window: Double = 0.5,
                           precision: ComputePrecision = .fp32, isa: BFloat16ISA = BFloat16ISA.active) -> Result {
        precondition(n > 0 && threads > 0 && repeats > 0, "GEMMBenchmark: size, threads and repeats must be positive")
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        var random = RandomGenerator(seed: UInt64(n))
        let a = (0..<(n * n)).map { _ in random.uniform(0, 1) }
        let b = (0..<(n * n)).map { _ in random.uniform(0, 1) }
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    func call() {
                        if precision == .bf16, let pa = a.baseAddress, let pb = b.baseAddress, let pc = c.baseAddress {
                            BFloat16GEMM.multiply(transposeA: false, transposeB: false, m: n, n: n, k: n,
                                                  a: pa, lda: n, b: pb, ldb: n, c: pc, ldc: n, threads: threads,
                                                  isa: isa)
                            return
                        }
                        GEMM.multiply(transposeA: false, transposeB: false, m: n, n: n, k: n,
                                      a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                                      c: c.baseAddress!, ldc: n, threads: threads)
                    }
                    for _ in 0..<3 { call() }
                    for _ in 0..<repeats {
                        var calls = 0
                        let start = DispatchTime.now().uptimeNanoseconds
                        var elapsed = 0.0
                        repeat {
                            call()
                            calls += 1
                            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        } while elapsed < window
                        best = Swift.max(best, 2 * Double(n) * Double(n) * Double(n) * Double(calls) / elapsed / 1e9)
                    }
                }
            }
        }
        return Result(size: n, threads: threads, gflops: best, precision: precision,
                      path: precision == .bf16 ? isa.rawValue : "fp32")
    }
}
