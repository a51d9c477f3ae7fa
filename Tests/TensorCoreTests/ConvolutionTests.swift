import XCTest

@testable import TensorCore

final class ConvolutionTests: XCTestCase {
    // MARK: Worked examples

    private let image5x5: [Float] = [1, 3, 2, 3, 3,
                                     3, 1, 2, 1, 1,
                                     3, 3, 3, 1, 2,
                                     2, 2, 1, 2, 1,
                                     2, 3, 2, 1, 2]
    private let filter3x3: [Float] = [1, 3, 2,
                                      1, 3, 3,
                                      3, 1, 1]

    /// Single-channel, batch-1 convolution without bias.
    private func convolve(_ input: [Float], height: Int, width: Int, _ kernel: [Float], kernelHeight: Int,
                          kernelWidth: Int, stride: Int = 1, padding: Int = 0) throws -> [Float] {
        let g = try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: height, inWidth: width, outChannels: 1,
                                        kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                                        strideHeight: stride, strideWidth: stride, padHeight: padding, padWidth: padding,
                                        dilationHeight: 1, dilationWidth: 1, groups: 1)
        var output = [Float](repeating: .nan, count: g.outputCount)
        Convolution.forward(g, input: input, weight: kernel, bias: nil, output: &output)
        return output
    }

    func testPaddingOneStrideOne() throws {
        let output = try convolve(image5x5, height: 5, width: 5, filter3x3, kernelHeight: 3, kernelWidth: 3, padding: 1)
        XCTAssertEqual(output, [16, 28, 24, 28, 16,
                                27, 41, 38, 37, 21,
                                33, 40, 33, 25, 18,
                                32, 40, 37, 29, 17,
                                25, 27, 21, 20, 12])
    }

    func testPaddingOneStrideTwo() throws {
        let output = try convolve(image5x5, height: 5, width: 5, filter3x3, kernelHeight: 3, kernelWidth: 3,
                                  stride: 2, padding: 1)
        XCTAssertEqual(output, [16, 24, 16, 33, 33, 18, 25, 21, 12])
    }

    func testPaddingTwoStrideOne() throws {
        let output = try convolve(image5x5, height: 5, width: 5, filter3x3, kernelHeight: 3, kernelWidth: 3, padding: 2)
        XCTAssertEqual(output.count, 49)
        XCTAssertEqual(Array(output[0..<7]), [1, 4, 8, 14, 12, 12, 9])
        XCTAssertEqual(Array(output[42..<49]), [4, 12, 15, 11, 9, 7, 2])
    }

    func testTwoByTwoKernel() throws {
        let input: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        let kernel: [Float] = [0, 1, 2, 3]
        XCTAssertEqual(try convolve(input, height: 3, width: 3, kernel, kernelHeight: 2, kernelWidth: 2),
                       [19, 25, 37, 43])
        XCTAssertEqual(try convolve(input, height: 3, width: 3, kernel, kernelHeight: 2, kernelWidth: 2, padding: 1),
                       [0, 3, 8, 4, 9, 19, 25, 10, 21, 37, 43, 16, 6, 7, 8, 0])
    }

    func testBiasIsAddedPerChannel() throws {
        let g = try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 3, inWidth: 3, outChannels: 2,
                                        kernelHeight: 2, kernelWidth: 2, strideHeight: 1, strideWidth: 1,
                                        padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        let input: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
        let weight: [Float] = [0, 1, 2, 3, 1, 0, 0, 0]
        let bias: [Float] = [0.5, -1]
        var output = [Float](repeating: .nan, count: 8)
        Convolution.forward(g, input: input, weight: weight, bias: bias, output: &output)
        XCTAssertEqual(output, [19.5, 25.5, 37.5, 43.5, -1, 0, 2, 3])
    }

    // MARK: Geometry

    func testOutputSizes() throws {
        for (stride, expected) in [(1, 5), (2, 3), (3, 2)] {
            let g = try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 7, inWidth: 7, outChannels: 1,
                                            kernelHeight: 3, kernelWidth: 3, strideHeight: stride, strideWidth: stride,
                                            padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
            XCTAssertEqual(g.outHeight, expected)
            XCTAssertEqual(g.outWidth, expected)
        }
        // AlexNet: 227 → conv 11 stride 4 → 55 → max pool 3 stride 2 → 27.
        let conv = try ConvolutionGeometry(batch: 1, inChannels: 3, inHeight: 227, inWidth: 227, outChannels: 96,
                                           kernelHeight: 11, kernelWidth: 11, strideHeight: 4, strideWidth: 4,
                                           padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        XCTAssertEqual(conv.outHeight, 55)
        let pool = try PoolingGeometry(batch: 1, channels: 96, inHeight: conv.outHeight, inWidth: conv.outWidth,
                                       kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
                                       padHeight: 0, padWidth: 0, ceilMode: false)
        XCTAssertEqual(pool.outHeight, 27)
        XCTAssertEqual(pool.outWidth, 27)
        // Dilated, asymmetric: H 10, k 3, d 2, p 1, s 2 → floor((10 + 2 − 4 − 1)/2) + 1 = 4; W 9, k 1 → 9.
        let dilated = try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 10, inWidth: 9, outChannels: 1,
                                              kernelHeight: 3, kernelWidth: 1, strideHeight: 2, strideWidth: 1,
                                              padHeight: 1, padWidth: 0, dilationHeight: 2, dilationWidth: 1, groups: 1)
        XCTAssertEqual(dilated.outHeight, 4)
        XCTAssertEqual(dilated.outWidth, 9)
    }

    func testInvalidGeometryThrowsClearMessages() {
        func message(_ body: () throws -> ConvolutionGeometry) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        let tooLarge = message {
            try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 3, inWidth: 3, outChannels: 1,
                                    kernelHeight: 5, kernelWidth: 5, strideHeight: 1, strideWidth: 1,
                                    padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        XCTAssertTrue(tooLarge.contains("kernel 5x5 (dilation 1) is larger than the padded input 3x3 (input 3x3, padding 0)"),
                      tooLarge)
        let groups = message {
            try ConvolutionGeometry(batch: 1, inChannels: 6, inHeight: 8, inWidth: 8, outChannels: 4,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                    padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 3)
        }
        XCTAssertTrue(groups.contains("divisible by groups (3)"), groups)
        let stride = message {
            try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 8, inWidth: 8, outChannels: 1,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 0, strideWidth: 1,
                                    padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        XCTAssertTrue(stride.contains("stride must be positive"), stride)
        let padding = message {
            try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 8, inWidth: 8, outChannels: 1,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                    padHeight: -1, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        XCTAssertTrue(padding.contains("padding must not be negative"), padding)
        let batch = message {
            try ConvolutionGeometry(batch: 0, inChannels: 1, inHeight: 8, inWidth: 8, outChannels: 1,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                    padHeight: 0, padWidth: 0, dilationHeight: 1, dilationWidth: 1, groups: 1)
        }
        XCTAssertTrue(batch.contains("batch size must be positive"), batch)
        // Dilation makes a 3x3 kernel span 5: too large for 4x4 without padding, fine with padding 1.
        let dilated = message {
            try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 1,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                    padHeight: 0, padWidth: 0, dilationHeight: 2, dilationWidth: 2, groups: 1)
        }
        XCTAssertTrue(dilated.contains("kernel 3x3 (dilation 2) is larger than the padded input 4x4"), dilated)
        XCTAssertNoThrow(try ConvolutionGeometry(batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 1,
                                                 kernelHeight: 3, kernelWidth: 3, strideHeight: 1, strideWidth: 1,
                                                 padHeight: 1, padWidth: 1, dilationHeight: 2, dilationWidth: 2,
                                                 groups: 1))
    }

    // MARK: Against the direct-loop reference

    private struct Case {
        var batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth: Int
        var strideHeight = 1, strideWidth = 1, padHeight = 0, padWidth = 0
        var dilationHeight = 1, dilationWidth = 1, groups = 1
    }

    private let cases: [Case] = [
        Case(batch: 2, inChannels: 3, height: 7, width: 9, outChannels: 5, kernelHeight: 3, kernelWidth: 3),
        Case(batch: 3, inChannels: 4, height: 6, width: 5, outChannels: 7, kernelHeight: 1, kernelWidth: 1),
        Case(batch: 1, inChannels: 5, height: 8, width: 8, outChannels: 3, kernelHeight: 1, kernelWidth: 1,
             strideHeight: 2, strideWidth: 2),
        Case(batch: 5, inChannels: 2, height: 11, width: 10, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             strideHeight: 2, strideWidth: 2, padHeight: 1, padWidth: 1),
        Case(batch: 4, inChannels: 3, height: 9, width: 13, outChannels: 2, kernelHeight: 5, kernelWidth: 5,
             padHeight: 2, padWidth: 2),
        Case(batch: 2, inChannels: 2, height: 10, width: 9, outChannels: 3, kernelHeight: 3, kernelWidth: 3,
             padHeight: 2, padWidth: 1, dilationHeight: 2, dilationWidth: 3),
        Case(batch: 3, inChannels: 6, height: 7, width: 7, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1, groups: 2),
        Case(batch: 2, inChannels: 4, height: 8, width: 6, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             strideHeight: 1, strideWidth: 2, padHeight: 1, padWidth: 1, groups: 4),              // depthwise
        Case(batch: 1, inChannels: 3, height: 9, width: 7, outChannels: 6, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1, groups: 3),                                                // depthwise ×2
        Case(batch: 3, inChannels: 3, height: 6, width: 11, outChannels: 4, kernelHeight: 1, kernelWidth: 3,
             strideHeight: 2, strideWidth: 1, padHeight: 0, padWidth: 1),
        Case(batch: 2, inChannels: 2, height: 12, width: 5, outChannels: 3, kernelHeight: 3, kernelWidth: 1,
             strideHeight: 3, strideWidth: 1, padHeight: 1, padWidth: 0),
        Case(batch: 5, inChannels: 1, height: 13, width: 13, outChannels: 2, kernelHeight: 4, kernelWidth: 2,
             strideHeight: 3, strideWidth: 2, padHeight: 2, padWidth: 1),
        Case(batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, kernelHeight: 1, kernelWidth: 1),
        Case(batch: 2, inChannels: 2, height: 3, width: 3, outChannels: 2, kernelHeight: 3, kernelWidth: 3,
             strideHeight: 2, strideWidth: 2, padHeight: 3, padWidth: 3),   // rows entirely in padding
        Case(batch: 4, inChannels: 16, height: 12, width: 12, outChannels: 24, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),                                     // spans several GEMM tiles
        // Output planes of ≥ 128 pixels: one image per column matrix (pointwise reads the image directly).
        Case(batch: 3, inChannels: 4, height: 12, width: 11, outChannels: 5, kernelHeight: 1, kernelWidth: 1),
        Case(batch: 2, inChannels: 3, height: 14, width: 12, outChannels: 3, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1, groups: 3),
        Case(batch: 3, inChannels: 2, height: 23, width: 24, outChannels: 3, kernelHeight: 2, kernelWidth: 3,
             strideHeight: 2, strideWidth: 1, padHeight: 1, padWidth: 1, dilationHeight: 1, dilationWidth: 2),
        // Long stride-1 rows (vector row copies with an overlapping last vector) and an odd
        // plane of 81 pixels copied between chunked column matrices and images.
        Case(batch: 3, inChannels: 2, height: 5, width: 35, outChannels: 3, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        Case(batch: 5, inChannels: 3, height: 9, width: 9, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        // Width-preserving stride-1 geometries (im2col as shifted plane copies): more output rows
        // than input rows, dilation, a kernel wider than the input, a one-row kernel.
        Case(batch: 2, inChannels: 3, height: 6, width: 7, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             padHeight: 2, padWidth: 1),
        Case(batch: 2, inChannels: 2, height: 9, width: 10, outChannels: 3, kernelHeight: 3, kernelWidth: 3,
             padHeight: 2, padWidth: 2, dilationHeight: 2, dilationWidth: 2),
        Case(batch: 3, inChannels: 2, height: 5, width: 4, outChannels: 3, kernelHeight: 3, kernelWidth: 5,
             padHeight: 0, padWidth: 2),
        Case(batch: 1, inChannels: 2, height: 3, width: 2, outChannels: 2, kernelHeight: 1, kernelWidth: 5,
             padHeight: 0, padWidth: 2),
        Case(batch: 2, inChannels: 3, height: 16, width: 16, outChannels: 5, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        // Direct weight gradient only (4 channels: no 8-row tiles for the other passes), with
        // 20 images of 64 pixels: a group of 16 images swept together, then the rest.
        Case(batch: 20, inChannels: 4, height: 8, width: 8, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        // Kernels covering the whole input (`isFullyConnected`, LeNet-5's third convolution):
        // products over the images as they lie; 130 images make two chunks of the weight
        // gradient on one thread.
        Case(batch: 7, inChannels: 16, height: 5, width: 5, outChannels: 12, kernelHeight: 5, kernelWidth: 5),
        Case(batch: 130, inChannels: 3, height: 2, width: 3, outChannels: 5, kernelHeight: 2, kernelWidth: 3),
    ] + directCases + rowPieceCases

    /// Stride-1 geometries whose output rows 16-pixel pieces do not tile: swept row by row,
    /// all three passes. LeNet-5's two convolutions (6 filters: a partial register tile and
    /// a partial weight-gradient block; a 5x5 valid convolution whose input gradient is a
    /// full correlation over a 4-padded 10x10 plane, 150 depth rows), a 3x3 valid one with
    /// rows of 8, a 3x3 same one on 12x12.
    private static let rowPieceCases: [Case] = [
        Case(batch: 4, inChannels: 1, height: 28, width: 28, outChannels: 6, kernelHeight: 5, kernelWidth: 5,
             padHeight: 2, padWidth: 2),
        Case(batch: 4, inChannels: 6, height: 14, width: 14, outChannels: 16, kernelHeight: 5, kernelWidth: 5),
        Case(batch: 3, inChannels: 5, height: 7, width: 10, outChannels: 3, kernelHeight: 3, kernelWidth: 3),
        Case(batch: 4, inChannels: 9, height: 12, width: 12, outChannels: 10, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
    ]

    /// Geometries DirectConvolution takes (with at least as many images as threads): an odd
    /// number of 16-pixel row pieces (a last narrow tile), a 5x5 kernel, a one-column kernel,
    /// two filter panels each way.
    private static let directCases: [Case] = [
        Case(batch: 4, inChannels: 8, height: 5, width: 16, outChannels: 16, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        Case(batch: 4, inChannels: 16, height: 6, width: 32, outChannels: 8, kernelHeight: 5, kernelWidth: 5,
             padHeight: 2, padWidth: 2),
        Case(batch: 5, inChannels: 8, height: 3, width: 16, outChannels: 8, kernelHeight: 3, kernelWidth: 1,
             padHeight: 1, padWidth: 0),
        // Rows of 8 and 24 pixels: pieces loaded as two 8-pixel halves (ResNet's 8x8 stage);
        // 2x24 = three pieces, the last one alone.
        Case(batch: 4, inChannels: 16, height: 8, width: 8, outChannels: 16, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        Case(batch: 4, inChannels: 8, height: 2, width: 24, outChannels: 8, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
        // 48 filters: weight-gradient tiles of 32 and 16 filters.
        Case(batch: 4, inChannels: 8, height: 4, width: 16, outChannels: 48, kernelHeight: 3, kernelWidth: 3,
             padHeight: 1, padWidth: 1),
    ]

    private func geometry(_ c: Case) throws -> ConvolutionGeometry {
        try ConvolutionGeometry(batch: c.batch, inChannels: c.inChannels, inHeight: c.height, inWidth: c.width,
                                outChannels: c.outChannels, kernelHeight: c.kernelHeight, kernelWidth: c.kernelWidth,
                                strideHeight: c.strideHeight, strideWidth: c.strideWidth,
                                padHeight: c.padHeight, padWidth: c.padWidth,
                                dilationHeight: c.dilationHeight, dilationWidth: c.dilationWidth, groups: c.groups)
    }

    func testAgainstReferenceForEveryThreadCount() throws {
        var seed: UInt64 = 500
        for (index, c) in cases.enumerated() {
            let g = try geometry(c)
            seed += 10
            let reference = ReferenceConvolution(g, seed: seed)
            for threads in 1...4 {
                withThreadCount(threads) {
                    withTinyGEMMThreshold {
                        let label = "case \(index) \(g) threads \(threads)"
                        let gradWeight = reference.assertFastPathsMatch(label)
                        let (input, gradOutput) = (reference.input, reference.gradOutput)

                        // Without a bias gradient the weight gradient is unchanged.
                        var weightOnly = [Float](repeating: .nan, count: g.weightCount)
                        Convolution.backwardWeight(g, input: input, gradOutput: gradOutput,
                                                   gradWeight: &weightOnly, gradBias: nil)
                        XCTAssertEqual(weightOnly, gradWeight, "backwardWeight without bias \(label)")
                    }
                }
            }
        }
    }

    /// The direct kernel applies to `directCases` and, with either register tile, gives the
    /// same bits whatever the thread count (each output is one chain of FMAs in a fixed order,
    /// continued across depth blocks).
    func testDirectConvolutionAppliesAndIsThreadIndependent() throws {
        for c in Self.directCases {
            let g = try geometry(c)
            let input = randomValues(g.inputCount, seed: 90), weight = randomValues(g.weightCount, seed: 91)
            let gradOutput = randomValues(g.outputCount, seed: 92)
            for shape in GEMMKernelShape.allCases {
                var reference: (output: [Float], gradInput: [Float])?
                for threads in 1...4 {
                    withThreadCount(threads) {
                        withKernelShape(shape) {
                            XCTAssertTrue(DirectConvolution.appliesToForward(g), "\(g) with \(threads) threads")
                            XCTAssertTrue(DirectConvolution.appliesToInputGradient(g), "\(g) with \(threads) threads")
                            XCTAssertTrue(DirectConvolution.appliesToWeightGradient(g), "\(g) with \(threads) threads")
                            var output = [Float](repeating: .nan, count: g.outputCount)
                            Convolution.forward(g, input: input, weight: weight, bias: nil, output: &output,
                                                algorithm: .direct)
                            var gradInput = [Float](repeating: .nan, count: g.inputCount)
                            Convolution.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput,
                                                      algorithm: .direct)
                            let label = "\(g) \(shape) \(threads) threads"
                            if let reference {
                                XCTAssertEqual(output.map(\.bitPattern), reference.output.map(\.bitPattern), label)
                                XCTAssertEqual(gradInput.map(\.bitPattern), reference.gradInput.map(\.bitPattern), label)
                            } else {
                                reference = (output, gradInput)
                            }
                        }
                    }
                }
            }
        }
        for c in Self.rowPieceCases {
            let g = try geometry(c)
            withThreadCount(2) {
                XCTAssertTrue(DirectConvolution.appliesToForward(g), "\(g)")
                XCTAssertTrue(DirectConvolution.appliesToInputGradient(g), "\(g)")
                XCTAssertTrue(DirectConvolution.appliesToWeightGradient(g), "\(g)")
            }
        }
        // LeNet-5's third convolution (5x5 over 5x5: a 1x1 output) stays a GEMM over many
        // images side by side: row pieces would use one lane of 16.
        let pointOutput = try geometry(Case(batch: 4, inChannels: 16, height: 5, width: 5, outChannels: 120,
                                            kernelHeight: 5, kernelWidth: 5))
        withThreadCount(2) {
            XCTAssertFalse(DirectConvolution.appliesToForward(pointOutput))
            XCTAssertFalse(DirectConvolution.appliesToWeightGradient(pointOutput))
        }
        // VGG-16's 56x56 layers: direct forward and input gradient, but the weight gradient's
        // lanes (16 per filter and depth row, 9.4 M floats) would be too large a scratch.
        let vgg = try geometry(Case(batch: 2, inChannels: 256, height: 56, width: 56, outChannels: 256,
                                    kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1))
        withThreadCount(2) {
            XCTAssertTrue(DirectConvolution.appliesToForward(vgg))
            XCTAssertFalse(DirectConvolution.appliesToWeightGradient(vgg))
        }
        // Fewer images than threads: the lowered path, which splits each GEMM between threads.
        let few = try geometry(Case(batch: 1, inChannels: 8, height: 4, width: 16, outChannels: 8,
                                    kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1))
        withThreadCount(2) { XCTAssertFalse(DirectConvolution.isDirectCandidate(few)) }
        withThreadCount(1) { XCTAssertTrue(DirectConvolution.isDirectCandidate(few)) }
    }

    /// With the 8×32 tile the direct kernel is preferred for every pass it applies to, except the
    /// weight gradient of layers with more than 32 filters and a deeper input than a first
    /// layer's (GoogLeNet's 32→96 3x3: 4.2 ms direct against 2.1 im2col+GEMM, `bench conv`).
    func testDirectWeightGradientIsPreferredForFewFiltersOrFirstLayers() throws {
        func choices(_ inChannels: Int, _ outChannels: Int, size: Int) throws -> [ConvolutionAlgorithm] {
            let g = try geometry(Case(batch: 8, inChannels: inChannels, height: size, width: size,
                                      outChannels: outChannels, kernelHeight: 3, kernelWidth: 3,
                                      padHeight: 1, padWidth: 1))
            return ConvolutionPass.allCases.map { Convolution.choice(g, $0) }
        }
        try withThreadCount(2) {
            try withKernelShape(.rows8Columns32) {
                XCTAssertEqual(try choices(16, 16, size: 32), [.direct, .direct, .direct], "ResNet-20's")
                XCTAssertEqual(try choices(3, 64, size: 64), [.direct, .direct, .direct], "a first layer")
                XCTAssertEqual(try choices(16, 32, size: 28), [.direct, .direct, .direct])
                XCTAssertEqual(try choices(32, 96, size: 28), [.direct, .direct, .gemm], "GoogLeNet's")
                XCTAssertEqual(try choices(24, 64, size: 14), [.direct, .direct, .gemm])
            }
        }
    }

    /// The 6×16 direct kernel's blocking: depth blocks of 256 (28 channels of 3x3, so 40 and
    /// 30 channels make a full and a partial block, whose second block continues the chains the
    /// first stored) and bands of a few output rows (`bandBytes` lowered), on a plane that
    /// pieces tile with rows of 24 (pieces straddle rows: bands of an even row count), one
    /// swept row by row (rows of 12) and one of rows of 16.
    func testDirectBlockingOverDepthAndBands() throws {
        let cases = [
            Case(batch: 2, inChannels: 40, height: 6, width: 24, outChannels: 13, kernelHeight: 3, kernelWidth: 3,
                 padHeight: 1, padWidth: 1),
            Case(batch: 3, inChannels: 30, height: 9, width: 12, outChannels: 7, kernelHeight: 3, kernelWidth: 3,
                 padHeight: 1, padWidth: 1),
            Case(batch: 2, inChannels: 60, height: 7, width: 16, outChannels: 6, kernelHeight: 3, kernelWidth: 3,
                 padHeight: 1, padWidth: 1),
        ]
        let saved = DirectConvolution.bandBytes
        defer { DirectConvolution.bandBytes = saved }
        for (index, c) in cases.enumerated() {
            let g = try geometry(c)
            let reference = ReferenceConvolution(g, seed: 700 + UInt64(index) * 10)
            // 4 × 4160 bytes: bands of 2 rows; 5 × 4160: 3 rows, made even (4) on the straddling plane,
            // whose 6 rows then make bands of 4 and 2.
            for bandBytes in [saved, 4 * 4160, 5 * 4160] {
                DirectConvolution.bandBytes = bandBytes
                for threads in [1, 2] {
                    withThreadCount(threads) {
                        withKernelShape(.rows6Columns16) {
                            var output = [Float](repeating: .nan, count: g.outputCount)
                            Convolution.forward(g, input: reference.input, weight: reference.weight,
                                                bias: reference.bias, output: &output, algorithm: .direct)
                            assertClose(output, reference.output, "forward \(g) band \(bandBytes) \(threads)")
                            var gradInput = [Float](repeating: .nan, count: g.inputCount)
                            Convolution.backwardInput(g, gradOutput: reference.gradOutput, weight: reference.weight,
                                                      gradInput: &gradInput, algorithm: .direct)
                            assertClose(gradInput, reference.gradInput, "dX \(g) band \(bandBytes) \(threads)")
                        }
                    }
                }
            }
        }
    }

    /// A single image's lowering in bands of output rows (`Convolution.bandRows`, for stems
    /// whose column matrix outgrows L2), with a last band shorter than the others, in every
    /// pass, with and without the weights packed once, against the reference; and on the bf16
    /// GEMM where this CPU has it, against Float32 on the same rounded operands.
    func testLoweringInBandsOfOutputRows() throws {
        let geometries = [
            // A ResNet-like stem: 7x7 stride 2 over 3 channels, 20x19 outputs.
            try ConvolutionGeometry(batch: 2, inChannels: 3, inHeight: 40, inWidth: 38, outChannels: 8,
                                    kernelHeight: 7, kernelWidth: 7, strideHeight: 2, strideWidth: 2,
                                    padHeight: 3, padWidth: 3),
            // 5x5 stride 1 unpadded (lowered row by row: outputs narrower than inputs), 13x17 outputs.
            try ConvolutionGeometry(batch: 3, inChannels: 5, inHeight: 17, inWidth: 21, outChannels: 6,
                                    kernelHeight: 5, kernelWidth: 5),
            // 3x3 stride 2 with padding, 16x17 outputs; 33 filters (partial register tiles).
            try ConvolutionGeometry(batch: 2, inChannels: 4, inHeight: 31, inWidth: 33, outChannels: 33,
                                    kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2,
                                    padHeight: 1, padWidth: 1),
        ]
        let (savedBytes, savedPixels) = (Convolution.bandBytes, Convolution.bandMinimumPixels)
        let savedPacking = Convolution.packsWeightsOnce
        defer {
            (Convolution.bandBytes, Convolution.bandMinimumPixels) = (savedBytes, savedPixels)
            Convolution.packsWeightsOnce = savedPacking
        }
        Convolution.bandMinimumPixels = 1
        for (index, g) in geometries.enumerated() {
            // Bands of 3 output rows: the last one shorter unless 3 divides the height.
            let rowBytes = g.inChannels * g.kernelHeight * g.kernelWidth * g.outWidth * MemoryLayout<Float>.stride
            Convolution.bandBytes = 3 * rowBytes
            let lowering = Convolution.Lowering(g)
            XCTAssertTrue(lowering.isBanded, "\(g)")
            XCTAssertEqual(lowering.bandRows, 3, "\(g)")
            let reference = ReferenceConvolution(g, seed: 900 + UInt64(index) * 10)
            for packsOnce in [true, false] {
                Convolution.packsWeightsOnce = packsOnce
                for threads in 1...3 {
                    withThreadCount(threads) {
                        let label = "\(g) packed once \(packsOnce) threads \(threads)"
                        var output = [Float](repeating: .nan, count: g.outputCount)
                        Convolution.forward(g, input: reference.input, weight: reference.weight, bias: reference.bias,
                                            output: &output, algorithm: .gemm)
                        assertClose(output, reference.output, "forward \(label)")
                        var gradInput = [Float](repeating: .nan, count: g.inputCount)
                        Convolution.backwardInput(g, gradOutput: reference.gradOutput, weight: reference.weight,
                                                  gradInput: &gradInput, algorithm: .gemm)
                        assertClose(gradInput, reference.gradInput, "dX \(label)")
                        var gradWeight = [Float](repeating: .nan, count: g.weightCount)
                        var gradBias = [Float](repeating: .nan, count: g.outChannels)
                        Convolution.backwardWeight(g, input: reference.input, gradOutput: reference.gradOutput,
                                                   gradWeight: &gradWeight, gradBias: &gradBias, algorithm: .gemm)
                        assertClose(gradWeight, reference.gradWeight, "dW \(label)")
                        assertClose(gradBias, reference.gradBias, "dBias \(label)")
                    }
                }
            }
            Convolution.packsWeightsOnce = savedPacking
            for isa in [BFloat16ISA.avx512bf16, .amx] where isa.missingFlag(on: .current) == nil && isa.isPermitted {
                let round = { (values: [Float]) in values.map(BFloat16.round) }
                let input = round(reference.input), weight = round(reference.weight)
                let gradOutput = round(reference.gradOutput)
                func passes(_ product: MatrixProduct) -> [[Float]] {
                    var output = [Float](repeating: .nan, count: g.outputCount)
                    Convolution.forward(g, input: input, weight: weight, bias: nil, output: &output,
                                        algorithm: .gemm, product: product)
                    var gradInput = [Float](repeating: .nan, count: g.inputCount)
                    Convolution.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput,
                                              algorithm: .gemm, product: product)
                    var gradWeight = [Float](repeating: .nan, count: g.weightCount)
                    Convolution.backwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: &gradWeight,
                                               gradBias: nil, algorithm: .gemm, product: product)
                    return [output, gradInput, gradWeight]
                }
                let pairs = zip(passes(.bfloat16(isa)), passes(.float32))
                for (pass, (hardware, float)) in zip(["forward", "dX", "dW"], pairs) {
                    assertClose(hardware, float, tolerance: 1e-5, "\(isa) \(pass) \(g)")
                }
            }
        }
    }

    func testWeightGradientIsBitwiseReproducible() throws {
        let g = try geometry(Case(batch: 7, inChannels: 8, height: 10, width: 10, outChannels: 12,
                                  kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1))
        let input = randomValues(g.inputCount, seed: 1), gradOutput = randomValues(g.outputCount, seed: 2)
        for threads in [2, 3] {
            withThreadCount(threads) {
                var first = [Float](repeating: 0, count: g.weightCount), firstBias = [Float](repeating: 0, count: 12)
                Convolution.backwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: &first, gradBias: &firstBias)
                for _ in 0..<5 {
                    var again = [Float](repeating: 0, count: g.weightCount), againBias = [Float](repeating: 0, count: 12)
                    Convolution.backwardWeight(g, input: input, gradOutput: gradOutput,
                                               gradWeight: &again, gradBias: &againBias)
                    XCTAssertEqual(again.map(\.bitPattern), first.map(\.bitPattern))
                    XCTAssertEqual(againBias.map(\.bitPattern), firstBias.map(\.bitPattern))
                }
            }
        }
    }
}

/// Every small geometry torch accepts, against the naive reference: kernels up to 11 over inputs
/// of side 1–7 (a ResNet stem over a 1x1 or 2x2 input), where a kernel offset can fall wholly in
/// the padding on one side (such geometries wrote past the column matrix before).
final class SmallGeometrySweepTests: XCTestCase {
    /// Input side 1–12, kernel 1–11, stride 1–4, padding 0–5, dilation 1–2 (issue 11's sweep), with
    /// 2→3 channels, and 8→16 on 8- and 12-pixel sides, where the direct kernels take stride-1 layers.
    func testEverySmallGeometryMatchesTheReference() throws {
        var checked = 0, seed: UInt64 = 9_000
        for side in 1...12 {
            for kernel in 1...11 {
                for stride in 1...4 {
                    for padding in 0...5 {
                        for dilation in 1...2 {
                            // torch: the dilated kernel must fit the padded input (an output of at least one pixel).
                            guard side + 2 * padding >= dilation * (kernel - 1) + 1 else { continue }
                            let channels = [(2, 3)] + ([8, 12].contains(side) && stride == 1 ? [(8, 16)] : [])
                            for (inChannels, outChannels) in channels {
                                let g = try ConvolutionGeometry(
                                    batch: 2, inChannels: inChannels, inHeight: side, inWidth: side,
                                    outChannels: outChannels, kernelHeight: kernel, kernelWidth: kernel,
                                    strideHeight: stride, strideWidth: stride, padHeight: padding, padWidth: padding,
                                    dilationHeight: dilation, dilationWidth: dilation, groups: 1)
                                seed += 4
                                let reference = ReferenceConvolution(g, seed: seed, withBias: false)
                                for threads in [1, 2] {
                                    withThreadCount(threads) {
                                        reference.assertFastPathsMatch("\(g) threads \(threads)")
                                    }
                                }
                                checked += 1
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(checked, 4_614)  // every geometry of the ranges that torch accepts
    }
}
