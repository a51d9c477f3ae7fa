// Direct convolution for stride-1 "same" convolutions (ResNet's and VGG's 3x3 pad-1 layers):
// an implicit GEMM whose B operand is read straight from a zero-padded copy of the image.
//
// Lowered to im2col + GEMM, one image of a 16-channel 32x32 layer writes a 144×1024 column
// matrix (590 KB), which the GEMM then copies again into packed panels: two passes over L2
// for every 4.7 MFLOP, as much time as the arithmetic. Here the register kernel loads each
// k step's 16 + 16 pixels directly from the padded image — in a padded plane the pixels of
// one output row for kernel offset (ki, kj) are contiguous, at a constant offset — so
// nothing is lowered: per image only the padded copy is written.
//
// Backward to the input is the same kernel: for a stride-1 same convolution,
// ∂L/∂x = conv(∂L/∂y padded, W'), W'[c][f][ki][kj] = W[f][c][kH−1−ki][kW−1−kj].
//
// The weight gradient reads the padded image the same way: gradWᵀ[(c, ki, kj)][f] sums, over
// the pixels, padded pixel × output gradient, with the output gradient transposed per image
// so that 32 filters are one k step's B row.
//
// Forward and input-gradient outputs are each one FMA chain over (channel, ki, kj) in order,
// so they do not depend on the thread count (images are split between threads, never a
// sum); weight gradients are summed per run of images, then over runs in a fixed order.

enum DirectConvolution {
    /// Stride 1 with the output as large as the input ("same" padding), no dilation or
    /// groups, a kernel larger than 1x1, rows a whole number of 8-pixel vectors and planes of
    /// 16-pixel pieces, and at least as many images as threads (each convolves whole images).
    static func isSameConvolution(_ g: ConvolutionGeometry) -> Bool {
        g.groups == 1 && g.strideHeight == 1 && g.strideWidth == 1 && g.dilationHeight == 1 && g.dilationWidth == 1
            && g.outHeight == g.inHeight && g.outWidth == g.inWidth && g.inWidth % 8 == 0
            && (g.inHeight * g.inWidth) % 16 == 0
            && g.kernelHeight * g.kernelWidth > 1
            && (g.batch >= Parallel.threadCount || Parallel.threadCount == 1)
    }

    /// Forward: filters in whole 8-row register tiles.
    static func appliesToForward(_ g: ConvolutionGeometry) -> Bool {
        isSameConvolution(g) && g.outChannels % 8 == 0
    }

    /// Backward to the input: the input channels are the filters of W'.
    static func appliesToInputGradient(_ g: ConvolutionGeometry) -> Bool {
        isSameConvolution(g) && g.inChannels % 8 == 0
    }

    /// Weight gradient: (channel, ki, kj) rows in whole 8-row panels, filters in 16-wide halves.
    static func appliesToWeightGradient(_ g: ConvolutionGeometry) -> Bool {
        isSameConvolution(g) && (g.inChannels * g.kernelHeight * g.kernelWidth) % 8 == 0 && g.outChannels % 16 == 0
    }

    /// The shape of one pass: `channels` input planes of height×width, padded, convolved
    /// with `filters` filters of channels×kH×kW.
    struct Pass {
        let channels: Int, filters: Int, height: Int, width: Int
        let kernelHeight: Int, kernelWidth: Int, padHeight: Int, padWidth: Int

        var paddedWidth: Int { width + 2 * padWidth }
        var paddedPlane: Int { (height + 2 * padHeight) * paddedWidth }
        var paddedCount: Int { channels * paddedPlane }
        var depth: Int { channels * kernelHeight * kernelWidth }
        var pixels: Int { height * width }
    }

    static func forwardPass(_ g: ConvolutionGeometry) -> Pass {
        Pass(channels: g.inChannels, filters: g.outChannels, height: g.inHeight, width: g.inWidth,
             kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, padHeight: g.padHeight, padWidth: g.padWidth)
    }

    /// Backward to the input: the output gradient's planes convolved with W'.
    static func inputGradientPass(_ g: ConvolutionGeometry) -> Pass {
        Pass(channels: g.outChannels, filters: g.inChannels, height: g.inHeight, width: g.inWidth,
             kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
             padHeight: g.kernelHeight - 1 - g.padHeight, padWidth: g.kernelWidth - 1 - g.padWidth)
    }

    /// output = conv(input, weight) + bias
    static func forward(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let pass = forwardPass(g)
        Convolution.scratch.withScratch(pass.filters * pass.depth) { packed in
            packWeights(pass, packed) { f, c, ki, kj in
                weight[((f * g.inChannels + c) * g.kernelHeight + ki) * g.kernelWidth + kj]
            }
            Convolution.forEachImageRun(g, scratchCount: pass.paddedCount,
                                        Run(pass: pass, packed: packed, input: input, bias: bias, output: output))
        }
    }

    /// gradInput = ∂loss/∂input (overwritten).
    static func backwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              gradInput: UnsafeMutablePointer<Float>) {
        let pass = inputGradientPass(g)
        let kH = g.kernelHeight, kW = g.kernelWidth
        Convolution.scratch.withScratch(pass.filters * pass.depth) { packed in
            // Filter c of W' over channel f is filter f's channel c of W, rotated 180°.
            packWeights(pass, packed) { c, f, ki, kj in
                weight[((f * g.inChannels + c) * kH + (kH - 1 - ki)) * kW + (kW - 1 - kj)]
            }
            Convolution.forEachImageRun(g, scratchCount: pass.paddedCount,
                                        Run(pass: pass, packed: packed, input: gradOutput, bias: nil, output: gradInput))
        }
    }

    /// gradWeight (and gradBias) = ∂loss/∂weight summed over the batch (overwritten).
    static func backwardWeight(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                               gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?) {
        let pass = forwardPass(g)
        let runs = Convolution.imageRunCount(g)
        let weightCount = g.weightCount, stride = weightCount + g.outChannels
        Convolution.scratch.withScratch(runs * stride) { partials in
            Convolution.forEachImageRun(g, scratchCount: pass.paddedCount + pass.pixels * pass.filters,
                                        WeightGradientRun(pass: pass, input: input, gradOutput: gradOutput,
                                                          partials: partials, stride: stride, withBias: gradBias != nil))
            let total = gradBias == nil ? weightCount : stride
            Parallel.forEachRange(total, minimumChunk: 1 << 14,
                                  Convolution.SumWeightGradients(l: Convolution.Lowering(g), partials: partials, runs: runs,
                                                                 stride: stride, weightCount: weightCount,
                                                                 gradWeight: gradWeight, gradBias: gradBias))
        }
    }

    /// One run's partial [gradWᵀ (depth × filters) | gradBias], summed image by image.
    struct WeightGradientRun: ImageRunBody {
        let pass: Pass
        let input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>
        let partials: UnsafeMutablePointer<Float>, stride: Int, withBias: Bool

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch: UnsafeMutablePointer<Float>) {
            let p = pass
            let partial = partials + worker * stride
            let gradWeightT = partial, gradBias = partial + p.depth * p.filters
            if images.isEmpty {
                partial.update(repeating: 0, count: stride)
                return
            }
            let padded = scratch, transposed = scratch + p.paddedCount
            padded.update(repeating: 0, count: p.paddedCount)
            for n in images {
                let first = n == images.lowerBound
                Run.pad(p, image: input + n * p.channels * p.pixels, into: padded)
                // transposed[q][f] = gradOutput[n][f][q]
                let dy = gradOutput + n * p.filters * p.pixels
                for f in 0..<p.filters {
                    let plane = dy + f * p.pixels
                    for q in 0..<p.pixels { transposed[q * p.filters + f] = plane[q] }
                }
                DirectConvolution.accumulateWeightGradient(p, padded: padded, transposed: transposed,
                                                           gradWeightT: gradWeightT, first: first)
                if withBias {
                    for f in 0..<p.filters {
                        let plane = dy + f * p.pixels
                        var sum: Double = 0
                        for q in 0..<p.pixels { sum += Double(plane[q]) }
                        gradBias[f] = first ? Float(sum) : gradBias[f] + Float(sum)
                    }
                }
            }
        }
    }

    /// gradWᵀ (+)= Σ over one image's pixels of the 8 padded inputs of a depth panel × the
    /// transposed output gradient's 32 (or 16) filters.
    static func accumulateWeightGradient(_ p: Pass, padded: UnsafePointer<Float>, transposed: UnsafePointer<Float>,
                                         gradWeightT: UnsafeMutablePointer<Float>, first: Bool) {
        let kernelArea = p.kernelHeight * p.kernelWidth, pw = p.paddedWidth, filters = p.filters
        for panel in 0..<(p.depth / 8) {
            // The panel's 8 rows (channel, ki, kj) as offsets into the padded image.
            var offsets = SIMD8<Int32>()
            for i in 0..<8 {
                let row = panel * 8 + i
                let c = row / kernelArea, ki = (row % kernelArea) / p.kernelWidth, kj = row % p.kernelWidth
                offsets[i] = Int32(c * p.paddedPlane + ki * pw + kj)
            }
            var f0 = 0
            while f0 < filters {
                let wide = filters - f0 >= 32
                var tile = RegisterTile()
                var bp = UnsafeRawPointer(transposed + f0)
                let rowStride = filters * MemoryLayout<Float>.stride
                for oh in 0..<p.height {
                    let base = padded + oh * pw
                    let a0 = base + Int(offsets[0]), a1 = base + Int(offsets[1]), a2 = base + Int(offsets[2])
                    let a3 = base + Int(offsets[3]), a4 = base + Int(offsets[4]), a5 = base + Int(offsets[5])
                    let a6 = base + Int(offsets[6]), a7 = base + Int(offsets[7])
                    for ow in 0..<p.width {
                        let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
                        if wide {
                            tile.multiplyAdd(a0[ow], a1[ow], a2[ow], a3[ow], a4[ow], a5[ow], a6[ow], a7[ow],
                                             b0, bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                        } else {
                            tile.multiplyAdd(a0[ow], a1[ow], a2[ow], a3[ow], a4[ow], a5[ow], a6[ow], a7[ow], b0)
                        }
                        bp += rowStride
                    }
                }
                let c = gradWeightT + panel * 8 * filters + f0
                accumulate(c, filters, tile.c00, tile.c01, wide, first)
                accumulate(c + filters, filters, tile.c10, tile.c11, wide, first)
                accumulate(c + 2 * filters, filters, tile.c20, tile.c21, wide, first)
                accumulate(c + 3 * filters, filters, tile.c30, tile.c31, wide, first)
                accumulate(c + 4 * filters, filters, tile.c40, tile.c41, wide, first)
                accumulate(c + 5 * filters, filters, tile.c50, tile.c51, wide, first)
                accumulate(c + 6 * filters, filters, tile.c60, tile.c61, wide, first)
                accumulate(c + 7 * filters, filters, tile.c70, tile.c71, wide, first)
                f0 += wide ? 32 : 16
            }
        }
    }

    /// row[0 ..< 32 or 16] = (first ? 0 : row) + v0 | v1
    @inline(__always)
    static func accumulate(_ row: UnsafeMutablePointer<Float>, _ ldc: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>,
                           _ wide: Bool, _ first: Bool) {
        let raw = UnsafeMutableRawPointer(row)
        if first {
            raw.storeBytes(of: v0, as: SIMD16<Float>.self)
            if wide { raw.storeBytes(of: v1, toByteOffset: 64, as: SIMD16<Float>.self) }
        } else {
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + v0, as: SIMD16<Float>.self)
            if wide {
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + v1,
                               toByteOffset: 64, as: SIMD16<Float>.self)
            }
        }
    }

    /// Packs the filters as the register kernel reads them: 8-filter panels, for each
    /// (channel, ki, kj) in order the 8 filters' weights side by side.
    @inline(__always)
    static func packWeights(_ pass: Pass, _ packed: UnsafeMutablePointer<Float>,
                            _ weight: (_ filter: Int, _ channel: Int, _ ki: Int, _ kj: Int) -> Float) {
        var p = packed
        for panel in 0..<(pass.filters / 8) {
            for c in 0..<pass.channels {
                for ki in 0..<pass.kernelHeight {
                    for kj in 0..<pass.kernelWidth {
                        for i in 0..<8 { p[i] = weight(panel * 8 + i, c, ki, kj) }
                        p += 8
                    }
                }
            }
        }
    }

    /// One run of images: pad each image into the run's scratch, then sweep the register kernel.
    struct Run: ImageRunBody {
        let pass: Pass
        let packed: UnsafePointer<Float>, input: UnsafePointer<Float>, bias: UnsafePointer<Float>?
        let output: UnsafeMutablePointer<Float>

        /// Copies an image into the interior of `padded`, whose border is zero.
        static func pad(_ p: Pass, image: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
            for c in 0..<p.channels {
                let plane = padded + c * p.paddedPlane + p.padHeight * p.paddedWidth + p.padWidth
                for h in 0..<p.height {
                    Convolution.copyRow(from: image + (c * p.height + h) * p.width, to: plane + h * p.paddedWidth,
                                        count: p.width)
                }
            }
        }

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch padded: UnsafeMutablePointer<Float>) {
            let p = pass
            // The border stays zero: each image only rewrites the interior.
            padded.update(repeating: 0, count: p.paddedCount)
            for n in images {
                Run.pad(p, image: input + n * p.channels * p.pixels, into: padded)
                let result = output + n * p.filters * p.pixels
                DirectConvolution.sweep(p, packed: packed, padded: padded, output: result)
                if let bias {
                    for f in 0..<p.filters {
                        let plane = result + f * p.pixels, b = bias[f]
                        for i in 0..<p.pixels { plane[i] += b }
                    }
                }
            }
        }
    }

    /// All tiles of one image: 8 filters × 32 pixels (two 16-pixel pieces) at a time, a last
    /// 16-pixel piece alone when the plane holds an odd number of them. With rows of 16·n
    /// pixels a piece lies in one row and is one vector load; otherwise (rows of 8, 24, …)
    /// it is loaded as two 8-pixel halves, each within a row.
    static func sweep(_ p: Pass, packed: UnsafePointer<Float>, padded: UnsafePointer<Float>,
                      output: UnsafeMutablePointer<Float>) {
        let pieces = p.pixels / 16
        let split = p.width % 16 != 0
        func address(_ q: Int) -> UnsafeRawPointer { UnsafeRawPointer(padded + (q / p.width) * p.paddedWidth + q % p.width) }
        for panel in 0..<(p.filters / 8) {
            let a = packed + panel * p.depth * 8
            let c = output + panel * 8 * p.pixels
            var piece = 0
            while piece < pieces {
                let q0 = piece * 16
                let wide = piece + 1 < pieces
                let q1 = wide ? q0 + 16 : q0
                let bases = (address(q0), address(q0 + 8), address(q1), address(q1 + 8))
                switch (wide, split) {
                case (true, false): tile(p, a: a, bases, wide: true, split: false, c: c + q0)
                case (true, true): tile(p, a: a, bases, wide: true, split: true, c: c + q0)
                case (false, false): tile(p, a: a, bases, wide: false, split: false, c: c + q0)
                case (false, true): tile(p, a: a, bases, wide: false, split: true, c: c + q0)
                }
                piece += wide ? 2 : 1
            }
        }
    }

    /// The 16 pixels of a piece: one vector at `low`, or 8 at `low` and 8 at `high`.
    @inline(__always)
    static func loadPiece(_ low: UnsafeRawPointer, _ high: UnsafeRawPointer, _ offset: Int, split: Bool) -> SIMD16<Float> {
        if split {
            return SIMD16(lowHalf: low.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                          highHalf: high.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
        }
        return low.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
    }

    /// c[i][0 ..< 32 or 16] = Σ over (channel, ki, kj) of a's 8 weights × the pieces at
    /// `bases` (first piece's halves, second piece's halves) shifted by the kernel offset;
    /// c's rows are `pixels` apart.
    @inline(__always)
    static func tile(_ p: Pass, a: UnsafePointer<Float>,
                     _ bases: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer),
                     wide: Bool, split: Bool, c: UnsafeMutablePointer<Float>) {
        var tile = RegisterTile()
        var ap = a
        let kH = p.kernelHeight, kW = p.kernelWidth
        let rowBytes = p.paddedWidth * MemoryLayout<Float>.stride, planeBytes = p.paddedPlane * MemoryLayout<Float>.stride
        for channel in 0..<p.channels {
            for ki in 0..<kH {
                let shift = channel * planeBytes + ki * rowBytes
                let low0 = bases.0 + shift, high0 = bases.1 + shift, low1 = bases.2 + shift, high1 = bases.3 + shift
                for kj in 0..<kW {
                    let offset = kj * MemoryLayout<Float>.stride
                    let b0 = loadPiece(low0, high0, offset, split: split)
                    if wide {
                        tile.multiplyAdd(ap, b0, loadPiece(low1, high1, offset, split: split))
                    } else {
                        tile.multiplyAdd(ap, b0)
                    }
                    ap += 8
                }
            }
        }
        let ldc = p.pixels
        store(c, tile.c00, tile.c01, wide); store(c + ldc, tile.c10, tile.c11, wide)
        store(c + 2 * ldc, tile.c20, tile.c21, wide); store(c + 3 * ldc, tile.c30, tile.c31, wide)
        store(c + 4 * ldc, tile.c40, tile.c41, wide); store(c + 5 * ldc, tile.c50, tile.c51, wide)
        store(c + 6 * ldc, tile.c60, tile.c61, wide); store(c + 7 * ldc, tile.c70, tile.c71, wide)
    }

    @inline(__always)
    static func store(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ wide: Bool) {
        let raw = UnsafeMutableRawPointer(row)
        raw.storeBytes(of: v0, as: SIMD16<Float>.self)
        if wide { raw.storeBytes(of: v1, toByteOffset: 64, as: SIMD16<Float>.self) }
    }
}
