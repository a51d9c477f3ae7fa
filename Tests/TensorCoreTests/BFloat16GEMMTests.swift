import XCTest

@testable import TensorCore

final class BFloat16GEMMTests: XCTestCase {
    private let shapes = [
        (1, 1, 1), (7, 13, 37), (13, 7, 100), (37, 129, 13), (33, 65, 64), (100, 37, 7),
        (5, 600, 3), (130, 17, 65),
    ]

    private struct Operands {
        var m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float
        var lda: Int, ldb: Int, ldc: Int
        var a: [Float], b: [Float], c: [Float]

        init(
            m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float = 1, beta: Float = 0,
            seed: UInt64
        ) {
            (self.m, self.n, self.k, self.transposeA, self.transposeB, self.alpha, self.beta) =
                (m, n, k, transposeA, transposeB, alpha, beta)
            lda = (transposeA ? m : k) + 3
            ldb = (transposeB ? k : n) + 1
            ldc = n + 2
            a = randomValues((transposeA ? k : m) * lda, seed: seed)
            b = randomValues((transposeB ? n : k) * ldb, seed: seed &+ 1)
            c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : randomValues(m * ldc, seed: seed &+ 2)
        }

        var label: String {
            "\(transposeA ? "T" : "N")\(transposeB ? "T" : "N") m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta)"
        }

        /// The m×n window of C after `body` (padding columns must keep their initial values).
        func result(_ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var out = c
            out.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
            var window: [Float] = []
            for i in 0..<m {
                for j in 0..<ldc {
                    if j < n {
                        window.append(out[i * ldc + j])
                    } else {
                        XCTAssertEqual(
                            out[i * ldc + j].bitPattern, c[i * ldc + j].bitPattern, "wrote padding: \(label)")
                    }
                }
            }
            return window
        }

        func bf16(isa: BFloat16ISA, threads: Int) -> [Float] {
            result { c in
                BFloat16GEMM.multiply(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads,
                    isa: isa)
            }
        }

        func packedReference(threads: Int) -> [Float] {
            result { c in
                BFloat16GEMM.multiplyPacked(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                    alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                    threads: threads, kernel: .reference)
            }
        }

        /// The Float32 GEMM on bf16-rounded operands: the emulation's definition.
        func float32OnRounded() -> [Float] {
            let ra = a.map(BFloat16.round), rb = b.map(BFloat16.round)
            return result { c in
                GEMM.multiply(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: ra, lda: lda, b: rb, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: 1)
            }
        }

        /// Scalar loop in VDPBF16PS's order (per k pair: odd product, then even), for the packed layout's check.
        func pairOrderReference() -> [Float] {
            result { c in
                for i in 0..<m {
                    for j in 0..<n {
                        func x(_ p: Int) -> Float {
                            p < k ? BFloat16.round(transposeA ? a[p * lda + i] : a[i * lda + p]) : 0
                        }
                        func y(_ p: Int) -> Float {
                            p < k ? BFloat16.round(transposeB ? b[j * ldb + p] : b[p * ldb + j]) : 0
                        }
                        var sum: Float = 0
                        for p in stride(from: 0, to: k, by: 2) {
                            sum += x(p + 1) * y(p + 1)
                            sum += x(p) * y(p)
                        }
                        c[i * ldc + j] = beta == 0 ? alpha * sum : alpha * sum + beta * c[i * ldc + j]
                    }
                }
            }
        }
    }

    private func forEachCase(_ body: (Operands, Int) -> Void) {
        var seed: UInt64 = 7
        withTinyGEMMThreshold {
            for threads in 1...4 {
                for (index, (m, n, k)) in shapes.enumerated() {
                    for transposeA in [false, true] {
                        for transposeB in [false, true] {
                            seed += 3
                            // Every fourth case scales and accumulates.
                            let scaled = (index + threads) % 4 == 0
                            body(
                                Operands(
                                    m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                                    alpha: scaled ? 0.5 : 1, beta: scaled ? -1.5 : 0, seed: seed), threads)
                        }
                    }
                }
            }
        }
    }

    func testEmulatedEqualsFloat32GEMMOnRoundedOperandsExactly() {
        forEachCase { operands, threads in
            let emulated = operands.bf16(isa: .emulated, threads: threads)
            let expected = operands.float32OnRounded()
            XCTAssertEqual(
                emulated.map(\.bitPattern), expected.map(\.bitPattern), operands.label + " threads=\(threads)")
        }
    }

    func testEmulatedRoundsOperandsAndFP32PathDoesNot() {
        // 1 + 2⁻¹⁰ is not a bf16: the emulation multiplies 1·1, the fp32 path the exact values.
        let a: [Float] = [1 + 0x1p-10], b: [Float] = [1 + 0x1p-10]
        var c: [Float] = [0]
        BFloat16GEMM.multiply(
            transposeA: false, transposeB: false, m: 1, n: 1, k: 1, a: a, lda: 1, b: b, ldb: 1,
            c: &c, ldc: 1, isa: .emulated)
        XCTAssertEqual(c[0], 1)
        BFloat16GEMM.multiply(
            transposeA: false, transposeB: false, m: 1, n: 1, k: 1, a: a, lda: 1, b: b, ldb: 1,
            c: &c, ldc: 1, isa: .fp32)
        XCTAssertEqual(c[0], (1 + 0x1p-10) * (1 + 0x1p-10))
    }

    /// The hardware paths' packing and blocking, with the Swift stand-in for the C micro-kernel:
    /// exact against a loop that adds in the same order, on every shape, transposition and thread count.
    func testPackedPathWithReferenceKernelEqualsPairOrderLoop() {
        forEachCase { operands, threads in
            let packed = operands.packedReference(threads: threads)
            XCTAssertEqual(
                packed.map(\.bitPattern), operands.pairOrderReference().map(\.bitPattern),
                operands.label + " threads=\(threads)")
            assertClose(packed, operands.float32OnRounded(), tolerance: 1e-5, operands.label)
        }
    }

    func testPackedPathSpansSeveralColumnBlocks() {
        // n > blockColumns (512) and k > one kblock, with a ragged last block.
        let operands = Operands(m: 35, n: 1100, k: 70, transposeA: false, transposeB: true, seed: 99)
        withTinyGEMMThreshold {
            XCTAssertEqual(
                operands.packedReference(threads: 3).map(\.bitPattern),
                operands.pairOrderReference().map(\.bitPattern))
        }
    }

    private func checkHardware(_ isa: BFloat16ISA) throws {
        if let flag = isa.missingFlag(on: .current) {
            throw XCTSkip("\(isa) path not run: this CPU lacks \(flag) (/proc/cpuinfo)")
        }
        guard isa.isPermitted else { throw XCTSkip("\(isa): Linux refused AMX tile data (arch_prctl)") }
        forEachCase { operands, threads in
            // Accumulation order differs from the Float32 GEMM's (pairs, tiles): close, not equal.
            assertClose(
                operands.bf16(isa: isa, threads: threads), operands.float32OnRounded(), tolerance: 1e-5,
                "\(isa) " + operands.label + " threads=\(threads)")
        }
    }

    func testAVX512BF16PathAgainstFloat32OnRoundedOperands() throws { try checkHardware(.avx512bf16) }

    func testAMXPathAgainstFloat32OnRoundedOperands() throws { try checkHardware(.amx) }

    func testISASelection() throws {
        let avx2 = CPUFeatures(cpuinfo: "flags\t\t: sse4_2 avx avx2 fma")
        let bf16 = CPUFeatures(cpuinfo: "flags\t\t: avx2 avx512f avx512_bf16")
        XCTAssertEqual(BFloat16ISA.best(for: avx2), .emulated)
        XCTAssertEqual(BFloat16ISA.best(for: bf16), .avx512bf16)
        XCTAssertEqual(try BFloat16ISA.select(environment: [:], features: avx2), .emulated)
        XCTAssertEqual(try BFloat16ISA.select(environment: ["CNN_DIST_ISA": "fp32"], features: avx2), .fp32)
        XCTAssertEqual(
            try BFloat16ISA.select(environment: ["CNN_DIST_ISA": "avx512bf16"], features: bf16),
            .avx512bf16)
        XCTAssertThrowsError(try BFloat16ISA.select(environment: ["CNN_DIST_ISA": "amx"], features: bf16)) { error in
            XCTAssertEqual(error as? BFloat16ISAError, .unsupported(.amx, missingFlag: "amx_tile"))
            XCTAssertTrue("\(error)".contains("CNN_DIST_ISA=amx: this CPU lacks amx_tile"), "\(error)")
        }
        XCTAssertThrowsError(try BFloat16ISA.select(environment: ["CNN_DIST_ISA": "avx512bf16"], features: avx2)) {
            XCTAssertTrue("\($0)".contains("lacks avx512f"), "\($0)")
        }
        XCTAssertThrowsError(try BFloat16ISA.select(environment: ["CNN_DIST_ISA": "tpu"], features: avx2)) {
            XCTAssertTrue("\($0)".contains("CNN_DIST_ISA=tpu is not a bf16 path; use one of amx, avx512bf16"), "\($0)")
        }
    }
}
