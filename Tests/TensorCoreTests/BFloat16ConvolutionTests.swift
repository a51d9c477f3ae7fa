import XCTest

@testable import TensorCore

/// Convolutions whose lowered products run on the bf16 GEMM (what a bf16 layer does on AMX or
/// AVX512-BF16): on bf16-rounded operands, the emulated bf16 product equals the Float32
/// lowered path bit for bit, and each hardware path the CPU has is within accumulation-order
/// tolerance of it (the others skipped, naming the missing flag). Geometries: a 3x3 same
/// convolution, a 7x7 stride-2 one, a 1x1 (pointwise), a grouped one.
final class BFloat16ConvolutionTests: XCTestCase {
    private let geometries: [ConvolutionGeometry] = [
        try! ConvolutionGeometry(
            batch: 3, inChannels: 8, inHeight: 9, inWidth: 12, outChannels: 20,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
        try! ConvolutionGeometry(
            batch: 2, inChannels: 3, inHeight: 23, inWidth: 19, outChannels: 16,
            kernelHeight: 7, kernelWidth: 7, strideHeight: 2, strideWidth: 2,
            padHeight: 3, padWidth: 3),
        try! ConvolutionGeometry(
            batch: 4, inChannels: 40, inHeight: 7, inWidth: 7, outChannels: 36,
            kernelHeight: 1, kernelWidth: 1),
        try! ConvolutionGeometry(
            batch: 2, inChannels: 12, inHeight: 6, inWidth: 10, outChannels: 18,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1, groups: 3),
    ]

    /// The three passes with `product`, from bf16-rounded operands.
    private func passes(_ g: ConvolutionGeometry, _ product: MatrixProduct, seed: UInt64) -> [[Float]] {
        let round = { (values: [Float]) in values.map(BFloat16.round) }
        let input = round(randomValues(g.inputCount, seed: seed)),
            weight = round(randomValues(g.weightCount, seed: seed + 1))
        let bias = round(randomValues(g.outChannels, seed: seed + 2))
        let gradOutput = round(randomValues(g.outputCount, seed: seed + 3))
        // Everything lowered: the Float32 reference, and the bf16 product even where its choice
        // would take a Float32 kernel (a layer under 32 channels), so the bf16 GEMM is what runs.
        let algorithm: ConvolutionAlgorithm = .gemm
        var output = [Float](repeating: .nan, count: g.outputCount)
        Convolution.forward(
            g, input: input, weight: weight, bias: bias, output: &output, algorithm: algorithm,
            product: product)
        var gradInput = [Float](repeating: .nan, count: g.inputCount)
        Convolution.backwardInput(
            g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput,
            algorithm: algorithm, product: product)
        var gradWeight = [Float](repeating: .nan, count: g.weightCount)
        var gradBias = [Float](repeating: .nan, count: g.outChannels)
        Convolution.backwardWeight(
            g, input: input, gradOutput: gradOutput, gradWeight: &gradWeight,
            gradBias: &gradBias, algorithm: algorithm, product: product)
        return [output, gradInput, gradWeight, gradBias]
    }

    func testEmulatedBFloat16ProductEqualsFloat32OnRoundedOperands() {
        for (index, g) in geometries.enumerated() {
            for threads in 1...4 {
                withThreadCount(threads) {
                    let reference = passes(g, .float32, seed: 40 + UInt64(index))
                    let emulated = passes(g, .bfloat16(.emulated), seed: 40 + UInt64(index))
                    for (pass, (a, b)) in zip(["forward", "dX", "dW", "dBias"], zip(emulated, reference)) {
                        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(pass) \(g) threads \(threads)")
                    }
                }
            }
        }
    }

    private func checkHardware(_ isa: BFloat16ISA) throws {
        if let flag = isa.missingFlag(on: .current) {
            throw XCTSkip("\(isa) convolution not run: this CPU lacks \(flag) (/proc/cpuinfo)")
        }
        guard isa.isPermitted else { throw XCTSkip("\(isa): Linux refused AMX tile data (arch_prctl)") }
        for (index, g) in geometries.enumerated() {
            for threads in 1...4 {
                withThreadCount(threads) {
                    let reference = passes(g, .float32, seed: 60 + UInt64(index))
                    let hardware = passes(g, .bfloat16(isa), seed: 60 + UInt64(index))
                    for (pass, (a, b)) in zip(["forward", "dX", "dW", "dBias"], zip(hardware, reference)) {
                        assertClose(a, b, tolerance: 1e-5, "\(isa) \(pass) \(g) threads \(threads)")
                    }
                }
            }
        }
    }

    func testAVX512BF16ConvolutionAgainstFloat32() throws { try checkHardware(.avx512bf16) }

    func testAMXConvolutionAgainstFloat32() throws { try checkHardware(.amx) }

    /// A bf16 layer on a CPU with neither instruction set keeps the Float32 kernels, direct
    /// ones included (they are the exact emulation); with one, its products go to the bf16 GEMM.
    func testProductForPrecision() {
        XCTAssertEqual(MatrixProduct.forPrecision(.fp32, isa: .amx), .float32)
        XCTAssertEqual(MatrixProduct.forPrecision(.bf16, isa: .emulated), .float32)
        XCTAssertEqual(MatrixProduct.forPrecision(.bf16, isa: .fp32), .float32)
        XCTAssertEqual(MatrixProduct.forPrecision(.bf16, isa: .amx), .bfloat16(.amx))
        XCTAssertEqual(MatrixProduct.forPrecision(.bf16, isa: .avx512bf16), .bfloat16(.avx512bf16))
        // 32 channels or more: one whole bf16 panel (fewer may run the direct kernel instead).
        let g = try! ConvolutionGeometry(
            batch: 3, inChannels: 32, inHeight: 9, inWidth: 12, outChannels: 40,
            kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1)
        XCTAssertEqual(Convolution.resolve(nil, g, .forward, .bfloat16(.amx)), .gemm)
        XCTAssertEqual(Convolution.kernelNames(g, product: .bfloat16(.amx)).forward, "im2col+bf16 GEMM (amx)")
        XCTAssertEqual(
            Convolution.kernelNames(geometries[2], product: .bfloat16(.avx512bf16)).weightGradient,
            "1x1 bf16 GEMM (avx512bf16)")
        // A kernel covering the whole input (LeNet-5's third convolution) multiplies the batch.
        let whole = try! ConvolutionGeometry(
            batch: 4, inChannels: 16, inHeight: 5, inWidth: 5, outChannels: 120, kernelHeight: 5, kernelWidth: 5)
        XCTAssertEqual(Convolution.kernelNames(whole).inputGradient, "batch GEMM")
        XCTAssertEqual(Convolution.kernelNames(whole, product: .bfloat16(.amx)).forward, "batch bf16 GEMM (amx)")
    }

    /// Where a Float32 kernel beats the bf16 GEMM, a bf16 layer runs it on its bf16 operands:
    /// Winograd F(4x4, 3x3) from 112x112 outputs, from 56x56 with 128 channels, from 28x28 with
    /// 256; the direct kernel under 32 channels.
    func testBFloat16ChoiceTakesFloat32KernelsWhereTheyWin() throws {
        func geometry(_ channels: Int, _ size: Int, inChannels: Int? = nil, batch: Int = 3) throws
            -> ConvolutionGeometry
        {
            try ConvolutionGeometry(
                batch: batch, inChannels: inChannels ?? channels, inHeight: size, inWidth: size, outChannels: channels,
                kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1)
        }
        let large = try geometry(64, 112), small = try geometry(64, 28), rgb = try geometry(8, 12, inChannels: 3)
        // 56x56: Winograd with 128 channels (VGG-16's), the GEMM with 64 (ResNet's, GoogLeNet's).
        let deep56 = try geometry(128, 56), shallow56 = try geometry(64, 56)
        // 28x28 with 256 channels (VGG's 512→512 layers): Winograd as well; 128 channels: the GEMM
        // (six images: enough 4x4 tiles for Float32 to pick F(4x4, 3x3)).
        let wide = try geometry(256, 28, batch: 6), narrow = try geometry(128, 28, batch: 6)
        for isa in [BFloat16ISA.amx, .avx512bf16] {
            for pass in ConvolutionPass.allCases {
                for g in [large, deep56, shallow56] { XCTAssertEqual(Convolution.choice(g, pass), .winograd4x4) }
                XCTAssertEqual(Convolution.resolve(nil, large, pass, .bfloat16(isa)), .winograd4x4, "\(pass)")
                XCTAssertFalse(Convolution.packsRoundedOperands(large, pass, .bfloat16(isa)))
                XCTAssertEqual(Convolution.resolve(nil, deep56, pass, .bfloat16(isa)), .winograd4x4, "\(pass)")
                XCTAssertEqual(Convolution.resolve(nil, shallow56, pass, .bfloat16(isa)), .gemm, "\(pass)")
                XCTAssertEqual(Convolution.resolve(nil, small, pass, .bfloat16(isa)), .gemm, "\(pass)")
                XCTAssertEqual(Convolution.resolve(nil, wide, pass, .bfloat16(isa)), .winograd4x4, "\(pass)")
                XCTAssertEqual(Convolution.resolve(nil, narrow, pass, .bfloat16(isa)), .gemm, "\(pass)")
                // What bench conv lists and marks as chosen: the same choice, first.
                XCTAssertEqual(Convolution.choice(shallow56, pass, product: .bfloat16(isa)), .gemm)
                XCTAssertEqual(Convolution.candidates(shallow56, pass, product: .bfloat16(isa)).first, .gemm)
                XCTAssertEqual(
                    Set(Convolution.candidates(shallow56, pass, product: .bfloat16(isa))),
                    Set(Convolution.candidates(shallow56, pass)))
                XCTAssertTrue(Convolution.packsRoundedOperands(small, pass, .bfloat16(isa)))
                let rgbChoice = Convolution.choice(rgb, pass)
                XCTAssertEqual(
                    Convolution.resolve(nil, rgb, pass, .bfloat16(isa)), rgbChoice == .direct ? .direct : .gemm,
                    "\(pass)")
            }
            XCTAssertEqual(
                Convolution.kernelNames(large, product: .bfloat16(isa)).forward, "Winograd 4x4 (bf16 operands)")
        }
        XCTAssertEqual(
            Convolution.name(.winograd4x4, large, product: .bfloat16(.amx)), "Winograd 4x4 (bf16 operands)")
        XCTAssertEqual(Convolution.name(.gemm, large, product: .bfloat16(.avx512bf16)), "im2col+bf16 GEMM (avx512bf16)")
        // The emulated product and fp32 never use the bf16 GEMM's packing.
        XCTAssertEqual(Convolution.resolve(nil, large, .forward, .bfloat16(.emulated)), .gemm)
        XCTAssertEqual(Convolution.candidates(large, .forward, product: .bfloat16(.emulated)), [.gemm])
        XCTAssertEqual(Convolution.name(.gemm, large, product: .bfloat16(.emulated)), "im2col+GEMM (emulated)")
        XCTAssertEqual(
            Convolution.candidates(large, .forward, product: .float32), Convolution.candidates(large, .forward))
        XCTAssertFalse(Convolution.packsRoundedOperands(small, .forward, .bfloat16(.emulated)))
        XCTAssertFalse(Convolution.packsRoundedOperands(small, .forward, .float32))
    }
}
