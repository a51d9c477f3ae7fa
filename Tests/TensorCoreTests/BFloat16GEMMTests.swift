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

        func bf16(isa: BFloat16ISA, threads: Int, roundsResult: Bool = false) -> [Float] {
            result { c in
                BFloat16GEMM.multiply(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads,
                    isa: isa, roundsResult: roundsResult)
            }
        }

        func packedReference(threads: Int, roundsResult: Bool = false) -> [Float] {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    packedReference(a: .float32(a.baseAddress!), b: .float32(b.baseAddress!), threads: threads,
                                    roundsResult: roundsResult)
                }
            }
        }

        /// The packed path with A and B handed over as given (Float32 values or bf16 bits).
        func packedReference(a: BFloat16GEMM.Operand, b: BFloat16GEMM.Operand, threads: Int,
                             roundsResult: Bool = false) -> [Float] {
            result { c in
                BFloat16GEMM.multiplyPacked(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                    alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                    threads: threads, kernel: .reference, roundsResult: roundsResult)
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

    /// bf16 bits handed over as operands (a bf16 layer's stored activations) are packed as they
    /// are: the product equals the one from their Float32 values, bit for bit, with either or both
    /// operands as bits, on every shape, transposition and thread count.
    func testPackedPathReadsBFloat16BitsOperands() {
        forEachCase { operands, threads in
            let expected = operands.packedReference(threads: threads).map(\.bitPattern)
            let aBits = operands.a.map { BFloat16($0).bitPattern }, bBits = operands.b.map { BFloat16($0).bitPattern }
            operands.a.withUnsafeBufferPointer { a in
                operands.b.withUnsafeBufferPointer { b in
                    aBits.withUnsafeBufferPointer { aBits in
                        bBits.withUnsafeBufferPointer { bBits in
                            let floatsA = BFloat16GEMM.Operand.float32(a.baseAddress!)
                            let floatsB = BFloat16GEMM.Operand.float32(b.baseAddress!)
                            let bitsA = BFloat16GEMM.Operand.bits(aBits.baseAddress!)
                            let bitsB = BFloat16GEMM.Operand.bits(bBits.baseAddress!)
                            for (name, left, right) in [("A", bitsA, floatsB), ("B", floatsA, bitsB),
                                                        ("A and B", bitsA, bitsB)] {
                                XCTAssertEqual(
                                    operands.packedReference(a: left, b: right, threads: threads).map(\.bitPattern),
                                    expected, "\(name) as bits, \(operands.label) threads=\(threads)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// `roundsResult` rounds what the fold or the direct write leaves in C (and only the m×n
    /// window: `result` checks the padding), on the packed path and the emulated one.
    func testRoundsResultRoundsEachValueOfC() {
        forEachCase { operands, threads in
            let expected = operands.pairOrderReference().map(BFloat16.round)
            XCTAssertEqual(
                operands.packedReference(threads: threads, roundsResult: true).map(\.bitPattern),
                expected.map(\.bitPattern), operands.label + " threads=\(threads)")
            XCTAssertEqual(
                operands.bf16(isa: .emulated, threads: threads, roundsResult: true).map(\.bitPattern),
                operands.float32OnRounded().map(BFloat16.round).map(\.bitPattern), operands.label)
        }
    }

    /// Values whose rounding is special (NaN with low payload bits only, ±Inf, overflow to Inf,
    /// ties to even both ways, subnormals, -0) packed by every layout, against the scalar rounding;
    /// and the same values' bf16 bits, packed as they are, to the same words.
    func testPackingRoundsSpecialValuesAsTheScalarRounding() {
        let special: [UInt32] = [
            0x7F80_0001, 0xFF80_0001, 0x7FC0_0000, 0x7F80_0000, 0xFF80_0000, 0x7F7F_FFFF, 0xFF7F_FFFF,
            0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x0000_0001, 0x8000_8000, 0x007F_FFFF, 0x8000_0000,
            0x0000_0000, 0x4049_0FDB,
        ]
        let (rows, depth) = (37, 70)
        var matrix = [Float](repeating: 0, count: rows * depth)
        for index in matrix.indices {
            matrix[index] = Float(bitPattern: special[(index * 7 + index / depth) % special.count])
        }
        let kblocks = (depth + 31) / 32
        func expected(_ row: Int, _ q: Int) -> UInt16 {
            row < rows && q < depth ? BFloat16(matrix[row * depth + q]).bitPattern : 0
        }
        var packed = [UInt16](repeating: 0xDEAD, count: 2 * kblocks * 1024)
        // A: rows of `matrix` as op(A) rows (stored as is, and transposed).
        for transposed in [false, true] {
            let stored = transposed ? (0..<depth * rows).map { matrix[($0 % rows) * depth + $0 / rows] } : matrix
            for row0 in [0, 32] {
                for asBits in [false, true] {
                    withOperand(stored, asBits: asBits) { operand in
                        packed.withUnsafeMutableBufferPointer { buffer in
                            BFloat16GEMM.packA(
                                transposed: transposed, operand, lda: transposed ? rows : depth, row0: row0,
                                rows: Swift.min(32, rows - row0), k: depth, kblocks: kblocks,
                                into: buffer.baseAddress!)
                        }
                    }
                    for i in 0..<32 {
                        for q in 0..<kblocks * 32 {
                            let offset = (q / 32) * 1024 + (i / 16) * 512 + (i % 16) * 32 + q % 32
                            XCTAssertEqual(
                                packed[offset], expected(row0 + i, q),
                                "packA transposed \(transposed) bits \(asBits) row \(row0 + i) k \(q)")
                        }
                    }
                }
            }
        }
        // B: op(B)[q][j] = matrix[j][q], stored transposed (as matrix) and as is.
        for transposed in [true, false] {
            let stored = transposed ? matrix : (0..<depth * rows).map { matrix[($0 % rows) * depth + $0 / rows] }
            for asBits in [false, true] {
                withOperand(stored, asBits: asBits) { operand in
                    packed.withUnsafeMutableBufferPointer { buffer in
                        BFloat16GEMM.packB(
                            transposed: transposed, operand, ldb: transposed ? depth : rows, k: depth,
                            kblocks: kblocks, column0: 0, columns: rows, into: buffer.baseAddress!)
                    }
                }
                for j in 0..<64 {
                    for q in 0..<kblocks * 32 {
                        let offset = (j / 32) * kblocks * 1024 + (q / 32) * 1024 + ((j % 32) / 16) * 512
                            + ((q % 32) / 2) * 32 + (j % 16) * 2 + q % 2
                        XCTAssertEqual(packed[offset], expected(j, q),
                                       "packB transposed \(transposed) bits \(asBits) column \(j) k \(q)")
                    }
                }
            }
        }
    }

    /// Runs `body` with `values` as a packing operand: Float32, or their bf16 bits (rounded here).
    private func withOperand(_ values: [Float], asBits: Bool, _ body: (BFloat16GEMM.Operand) -> Void) {
        if asBits {
            values.map { BFloat16($0).bitPattern }.withUnsafeBufferPointer { body(.bits($0.baseAddress!)) }
        } else {
            values.withUnsafeBufferPointer { body(.float32($0.baseAddress!)) }
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

    /// The AVX512-BF16 kernel takes the depth in chunks of 8 kblocks (256 values), keeping the
    /// sums in a block of its own between them and writing C after the last: over one chunk
    /// (2 and exactly 8 kblocks), whole chunks (16) and a short last one (9, 10, 17), several
    /// column blocks (whole op(A) packed, and not), in pieces of C with padding, it adds in
    /// VDPBF16PS's order as the Swift reference kernel does, and stays within accumulation
    /// tolerance of the Float32 GEMM.
    func testAVX512BF16KernelOverSeveralDepthChunks() throws {
        if let flag = BFloat16ISA.avx512bf16.missingFlag(on: .current) {
            throw XCTSkip("avx512bf16 path not run: this CPU lacks \(flag) (/proc/cpuinfo)")
        }
        let shapes = [
            (33, 40, 300), (64, 70, 520), (40, 600, 290), (70, 1100, 257), (33, 40, 256), (64, 70, 512),
            (40, 70, 64),
        ]
        for (index, (m, n, k)) in shapes.enumerated() {
            for (transposeA, transposeB) in [(false, false), (true, true), (false, true)] {
                let operands = Operands(
                    m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: index == 2 ? 0.5 : 1,
                    beta: index == 2 ? -1.5 : 0, seed: UInt64(300 + index))
                for threads in [1, 3] {
                    let hardware = operands.bf16(isa: .avx512bf16, threads: threads)
                    XCTAssertEqual(
                        hardware.map(\.bitPattern), operands.packedReference(threads: threads).map(\.bitPattern),
                        operands.label + " threads=\(threads)")
                    assertClose(hardware, operands.float32OnRounded(), tolerance: 1e-5, operands.label)
                }
            }
        }
    }

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
