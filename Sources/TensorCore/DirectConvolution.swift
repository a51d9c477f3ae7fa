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
// the pixels, padded pixel × output gradient, 16 pixels per vector lane, the lanes summed
// once per run of images.
//
// A bf16 layer's input of bf16 bits is widened as it is padded, and an output of bits (or of
// rounded values) is converted image by image while it is in cache: no staging copies.
//
// Forward and input-gradient outputs are each one FMA chain over (channel, ki, kj) in order,
// so they do not depend on the thread count (images are split between threads, never a
// sum); weight gradients are summed per run of images, then over runs in a fixed order.

enum DirectConvolution {
    /// Stride 1, no dilation or groups, a kernel larger than 1x1, padding at most the kernel
    /// size − 1 (the input gradient is then a convolution too), and at least as many images as
    /// threads (each thread convolves whole images).
    static func isDirectCandidate(_ g: ConvolutionGeometry) -> Bool {
        g.groups == 1 && g.strideHeight == 1 && g.strideWidth == 1 && g.dilationHeight == 1 && g.dilationWidth == 1
            && g.kernelHeight * g.kernelWidth > 1 && g.padHeight < g.kernelHeight && g.padWidth < g.kernelWidth
            && (g.batch >= Parallel.threadCount || Parallel.threadCount == 1)
    }

    /// Output planes the 16-pixel pieces tile exactly: rows of 8·n pixels, whole pieces per plane.
    static func tilesIntoPieces(width: Int, pixels: Int) -> Bool { width % 8 == 0 && pixels % 16 == 0 }

    /// Other planes go row by row, each row's last piece partly filled: worth it for the
    /// short depths of small networks (LeNet's 25 and 150), not against the blocked SGEMM,
    /// and for rows of at least 8 pixels (half a piece; a 1x1 output would use 1 lane of 16).
    static let rowPiecesMaximumDepth = 1024
    static let rowPiecesMinimumWidth = 8

    static func applies(_ p: Pass) -> Bool {
        tilesIntoPieces(width: p.outWidth, pixels: p.pixels)
            || (p.depth <= rowPiecesMaximumDepth && p.outWidth >= rowPiecesMinimumWidth)
    }

    /// Whether the direct kernel can run `pass` for `g`.
    static func applies(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        switch pass {
        case .forward: return appliesToForward(g)
        case .inputGradient: return appliesToInputGradient(g)
        case .weightGradient: return appliesToWeightGradient(g)
        }
    }

    static func appliesToForward(_ g: ConvolutionGeometry) -> Bool {
        isDirectCandidate(g) && applies(forwardPass(g))
    }

    static func appliesToInputGradient(_ g: ConvolutionGeometry) -> Bool {
        isDirectCandidate(g) && applies(inputGradientPass(g))
    }

    static func appliesToWeightGradient(_ g: ConvolutionGeometry) -> Bool {
        guard isDirectCandidate(g) else { return false }
        let p = forwardPass(g)
        return applies(p) && p.laneCount <= maximumLaneCount
    }

    /// Whether the direct kernel is the faster of the two where both apply.
    ///
    /// With AVX-512 (the 8×32 tile) it is, except for the weight gradient of layers with more
    /// than 32 filters and a deeper input than a first layer's: its cost per filter stays put
    /// while im2col+GEMM's lowering is shared by more filters. `bench conv`, Zen 5, 2 threads,
    /// weight gradient ms, direct vs im2col+GEMM: GoogLeNet b16 32→96 at 28x28 4.18 vs 2.10,
    /// 16→48 at 14x14 0.38 vs 0.19, 24→64 0.70 vs 0.36, 32→128 2.06 vs 0.79 (16→32 at 28x28
    /// 0.66 vs 0.51, kept direct); ResNet-20 b16 64→64 at 8x8 0.63 vs 0.41; direct wins with few
    /// filters (ResNet-20 b128 16→16 at 32x32 2.40 vs 4.62, 32→32 2.21 vs 2.68) and on first
    /// layers (VGG-16 b8 3→64 at 224x224 10.3 vs 11.2, LeNet-5 1→6 0.23 vs 0.69). With AVX2
    /// (the 6×16 tile), `bench conv` on a Zen 3 core, 2
    /// threads, medians of interleaved calls, in GFLOP/s direct vs im2col+GEMM:
    /// - forward: 224x224 planes 59–73 vs 37–59, 112x112 66–77 vs 51–53, 32x32 and smaller
    ///   63–108 vs 26–81; 56x56 planes 1,152 or 2,304 deep 83–121 vs 115–124 (GEMM);
    /// - input gradient: 32x32 and smaller 47–114 vs 45–82; from 56x56 up 50–124 vs 58–139;
    /// - weight gradient (`LaneBlock` needs 32 ymm registers and spills): only the first
    ///   layers, 25–27 deep on ≤ 32x32 planes, 18–26 vs 13–18; elsewhere 30–58 vs 40–107.
    static func prefers(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        let pixels = g.outHeight * g.outWidth, depth = g.inChannels * g.kernelHeight * g.kernelWidth
        guard GEMM.kernelShape == .rows6Columns16 else {
            return pass != .weightGradient || g.outChannels <= 32 || depth < 32
        }
        switch pass {
        case .forward: return pixels <= 1024 || g.outWidth >= 112 || depth <= 1024
        case .inputGradient: return g.inHeight * g.inWidth <= 1024
        case .weightGradient: return pixels <= 1024 && depth < 32
        }
    }

    /// The weight gradient's 16 lanes per (filter, depth row) live in every scratch buffer of
    /// the pool (threads + 1 of them): ResNet-20's largest layer needs 0.6 M floats, VGG-16's
    /// 56x56 layers would need 9.4 M (38 MB each) and stay on the GEMM path.
    static let maximumLaneCount = 4 << 20

    /// The weight gradient's piece-tiled path also needs filters and (channel, ki, kj) rows in
    /// whole blocks of 4; other passes go row by row (`accumulateWeightGradientRows`).
    static func weightGradientTilesIntoPieces(_ p: Pass) -> Bool {
        tilesIntoPieces(width: p.outWidth, pixels: p.pixels) && p.depth % 4 == 0 && p.filters % 4 == 0
    }

    /// The shape of one pass: `channels` input planes of height×width, padded, convolved
    /// with `filters` filters of channels×kH×kW into outHeight×outWidth planes.
    struct Pass {
        let channels: Int, filters: Int, height: Int, width: Int, outHeight: Int, outWidth: Int
        let kernelHeight: Int, kernelWidth: Int, padHeight: Int, padWidth: Int
        /// The register tile, read once per call: the packed panels and the sweep must agree.
        var shape = GEMM.kernelShape

        var paddedWidth: Int { width + 2 * padWidth }
        var paddedPlane: Int { (height + 2 * padHeight) * paddedWidth }
        /// The padded image plus 16 zeros: a row's last piece may read past the plane's end.
        var paddedCount: Int { channels * paddedPlane + 16 }
        var depth: Int { channels * kernelHeight * kernelWidth }
        /// Output pixels per plane.
        var pixels: Int { outHeight * outWidth }
        var inputPixels: Int { height * width }
        /// Filters rounded up to whole register-tile panels (the packed weights' rows).
        var paddedFilters: Int { (filters + shape.rows - 1) / shape.rows * shape.rows }
        /// Weight-gradient blocks: filters and depth rounded up to multiples of 4, 16 lanes
        /// for each (filter, row) pair.
        var blockedFilters: Int { (filters + 3) / 4 * 4 }
        var blockedDepth: Int { (depth + 3) / 4 * 4 }
        var laneCount: Int { 16 * blockedDepth * blockedFilters }
    }

    static func forwardPass(_ g: ConvolutionGeometry) -> Pass {
        Pass(channels: g.inChannels, filters: g.outChannels, height: g.inHeight, width: g.inWidth,
             outHeight: g.outHeight, outWidth: g.outWidth,
             kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, padHeight: g.padHeight, padWidth: g.padWidth)
    }

    /// Backward to the input: the output gradient's planes, padded by kernel − 1 − padding,
    /// convolved with W' (a full correlation for padding 0).
    static func inputGradientPass(_ g: ConvolutionGeometry) -> Pass {
        Pass(channels: g.outChannels, filters: g.inChannels, height: g.outHeight, width: g.outWidth,
             outHeight: g.inHeight, outWidth: g.inWidth, kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth,
             padHeight: g.kernelHeight - 1 - g.padHeight, padWidth: g.kernelWidth - 1 - g.padWidth)
    }

    /// output = conv(input, weight) + bias: from Float32 values or bf16 bits, into Float32
    /// values (rounded to bf16 with `roundsOutput`) or bf16 bits.
    static func forward(_ g: ConvolutionGeometry, input: ConvolutionInput, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: Convolution.ForwardDestination,
                        roundsOutput: Bool = false) {
        let pass = forwardPass(g)
        // An output of bits takes each image's result through scratch after the padded copy.
        var scratchCount = pass.paddedCount
        if case .bfloat16Bits = output { scratchCount += pass.filters * pass.pixels }
        Convolution.scratch.withScratch(pass.paddedFilters * pass.depth) { packed in
            packWeights(pass, packed) { f, c, ki, kj in
                weight[((f * g.inChannels + c) * g.kernelHeight + ki) * g.kernelWidth + kj]
            }
            Convolution.forEachImageRun(g, scratchCount: scratchCount,
                                        Run(pass: pass, packed: packed, input: input, bias: bias, output: output,
                                            roundsOutput: roundsOutput))
        }
    }

    /// gradInput = ∂loss/∂input (overwritten).
    static func backwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              gradInput: UnsafeMutablePointer<Float>) {
        let pass = inputGradientPass(g)
        let kH = g.kernelHeight, kW = g.kernelWidth
        Convolution.scratch.withScratch(pass.paddedFilters * pass.depth) { packed in
            // Filter c of W' over channel f is filter f's channel c of W, rotated 180°.
            packWeights(pass, packed) { c, f, ki, kj in
                weight[((f * g.inChannels + c) * kH + (kH - 1 - ki)) * kW + (kW - 1 - kj)]
            }
            Convolution.forEachImageRun(g, scratchCount: pass.paddedCount,
                                        Run(pass: pass, packed: packed, input: .float32(gradOutput), bias: nil,
                                            output: .float32(gradInput), roundsOutput: false))
        }
    }

    /// gradWeight (and gradBias) = ∂loss/∂weight summed over the batch (overwritten), from an
    /// input of Float32 values or bf16 bits.
    static func backwardWeight(_ g: ConvolutionGeometry, input: ConvolutionInput, gradOutput: UnsafePointer<Float>,
                               gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?) {
        let pass = forwardPass(g)
        Convolution.sumWeightGradientsOverRuns(g, runScratch: imagesPerGroup(pass) * pass.paddedCount + pass.laneCount,
                                               gradWeight: gradWeight, gradBias: gradBias) { partials, stride in
            WeightGradientRun(pass: pass, input: input, gradOutput: gradOutput, partials: partials, stride: stride,
                              withBias: gradBias != nil)
        }
    }

    /// Images whose pixels one weight-gradient block sweeps in one go: about 1,024 pixels, so
    /// that loading and storing a block's accumulators stays small next to its multiply-adds.
    static func imagesPerGroup(_ p: Pass) -> Int { Swift.max(1, 1024 / p.pixels) }

    /// One run's partial [gradWᵀ (depth × filters) | gradBias], summed image by image.
    struct WeightGradientRun: ImageRunBody {
        let pass: Pass
        let input: ConvolutionInput, gradOutput: UnsafePointer<Float>
        let partials: UnsafeMutablePointer<Float>, stride: Int, withBias: Bool

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch: UnsafeMutablePointer<Float>) {
            let p = pass
            let partial = partials + worker * stride
            let gradWeightT = partial, gradBias = partial + p.depth * p.filters
            if images.isEmpty {
                partial.update(repeating: 0, count: stride)
                return
            }
            let group = imagesPerGroup(p)
            let padded = scratch, lanes = scratch + group * p.paddedCount
            padded.update(repeating: 0, count: group * p.paddedCount)
            lanes.update(repeating: 0, count: p.laneCount)
            let tiled = weightGradientTilesIntoPieces(p)
            var start = images.lowerBound
            while start < images.upperBound {
                let count = Swift.min(group, images.upperBound - start)
                for i in 0..<count { Run.pad(p, input: input, image: start + i, into: padded + i * p.paddedCount) }
                let dy = gradOutput + start * p.filters * p.pixels
                if !tiled {
                    DirectConvolution.accumulateWeightGradientRows(p, padded: padded, gradOutput: dy, images: count,
                                                                   lanes: lanes)
                } else if p.outWidth % 16 == 0 {
                    DirectConvolution.accumulateWeightGradient(p, padded: padded, gradOutput: dy, images: count,
                                                               lanes: lanes, split: false)
                } else {
                    DirectConvolution.accumulateWeightGradient(p, padded: padded, gradOutput: dy, images: count,
                                                               lanes: lanes, split: true)
                }
                start += count
            }
            for n in images where withBias {
                let first = n == images.lowerBound
                let dy = gradOutput + n * p.filters * p.pixels
                for f in 0..<p.filters {
                    let sum = Reduction.sum(dy + f * p.pixels, count: p.pixels)
                    gradBias[f] = first ? Float(sum) : gradBias[f] + Float(sum)
                }
            }
            // gradWᵀ[d][f] = the sum of its 16 lanes (block (f/4, d/4), accumulator (f%4, d%4)).
            for d in 0..<p.depth {
                for f in 0..<p.filters {
                    let block = (f / 4) * (p.blockedDepth / 4) + d / 4, accumulator = (f % 4) * 4 + d % 4
                    let lane = UnsafeRawPointer(lanes + (block * 16 + accumulator) * 16)
                    gradWeightT[d * p.filters + f] = lane.loadUnaligned(as: SIMD16<Float>.self).sum()
                }
            }
        }
    }

    /// lanes += the products of padded input rows × output gradients of `images` consecutive
    /// images (padded `paddedCount` apart), 16 pixels per lane.
    ///
    /// Blocks of 4 filters × 4 rows (channel, ki, kj) keep 16 accumulators of 16 lanes: per 16
    /// pixels 4 + 4 vector loads feed 16 FMAs, and the output gradient is read as it lies (no
    /// transposition). The accumulators live in `lanes` between images ([block][f%4·4 + d%4]
    /// [16], blocks ordered filter block-major) and are summed across lanes once per run.
    @inline(__always)
    static func accumulateWeightGradient(_ p: Pass, padded: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                         images: Int, lanes: UnsafeMutablePointer<Float>, split: Bool) {
        let pw = p.paddedWidth
        let floatBytes = MemoryLayout<Float>.stride
        let pieces = p.pixels / 16, rowBytes = pw * floatBytes, pixelBytes = p.pixels * floatBytes
        let imageBytes = p.filters * pixelBytes, paddedBytes = p.paddedCount * floatBytes
        var block = UnsafeMutableRawPointer(lanes)
        for f0 in Swift.stride(from: 0, to: p.filters, by: 4) {
            // Row d = (c, ki, kj) of the depth, stepped without divisions.
            var c = 0, ki = 0, kj = 0
            func nextOffset() -> Int {
                let offset = (c * p.paddedPlane + ki * pw + kj) * floatBytes
                kj += 1
                if kj == p.kernelWidth { kj = 0; ki += 1 }
                if ki == p.kernelHeight { ki = 0; c += 1 }
                return offset
            }
            for _ in Swift.stride(from: 0, to: p.depth, by: 4) {
                let o0 = nextOffset(), o1 = nextOffset(), o2 = nextOffset(), o3 = nextOffset()
                var sums = LaneBlock(loading: block)
                for image in 0..<images {
                    let g = UnsafeRawPointer(dy + f0 * p.pixels) + image * imageBytes
                    let plane = UnsafeRawPointer(padded) + image * paddedBytes
                    // The current 8-pixel half as (row, column) of the output plane.
                    var oh = 0, ow = 0
                    for piece in 0..<pieces {
                        let low = plane + oh * rowBytes + ow * floatBytes
                        ow += 8
                        if ow == p.outWidth { ow = 0; oh += 1 }
                        let high = plane + oh * rowBytes + ow * floatBytes
                        ow += 8
                        if ow == p.outWidth { ow = 0; oh += 1 }
                        let x0 = loadPiece(low, high, o0, split: split), x1 = loadPiece(low, high, o1, split: split)
                        let x2 = loadPiece(low, high, o2, split: split), x3 = loadPiece(low, high, o3, split: split)
                        let q = piece * 16 * floatBytes
                        sums.multiplyAdd(x0, x1, x2, x3) { f in
                            g.loadUnaligned(fromByteOffset: f * pixelBytes + q, as: SIMD16<Float>.self)
                        }
                    }
                }
                sums.store(to: block)
                block += 16 * 64
            }
        }
    }

    /// Packs the filters as the register kernel reads them: panels of the tile's rows of filters (the
    /// last one padded with zero filters), for each (channel, ki, kj) in order the panel's
    /// weights side by side.
    @inline(__always)
    static func packWeights(_ pass: Pass, _ packed: UnsafeMutablePointer<Float>,
                            _ weight: (_ filter: Int, _ channel: Int, _ ki: Int, _ kj: Int) -> Float) {
        let width = pass.shape.rows
        var p = packed
        for panel in 0..<(pass.paddedFilters / width) {
            for c in 0..<pass.channels {
                for ki in 0..<pass.kernelHeight {
                    for kj in 0..<pass.kernelWidth {
                        // Filters past the last (a partial panel) get zero weights.
                        for i in 0..<width {
                            let filter = panel * width + i
                            p[i] = filter < pass.filters ? weight(filter, c, ki, kj) : 0
                        }
                        p += width
                    }
                }
            }
        }
    }

    /// One run of images: pad each image into the run's scratch, then sweep the register kernel.
    struct Run: ImageRunBody {
        let pass: Pass
        let packed: UnsafePointer<Float>, input: ConvolutionInput, bias: UnsafePointer<Float>?
        let output: Convolution.ForwardDestination
        /// Whether a Float32 output is rounded to bf16, image by image.
        let roundsOutput: Bool

        /// Copies image `index` into the interior of `padded`, whose border is zero, widening
        /// bf16 bits (or normalising a batch norm's input) row by row.
        static func pad(_ p: Pass, input: ConvolutionInput, image index: Int, into padded: UnsafeMutablePointer<Float>) {
            let imageSize = p.channels * p.inputPixels
            for c in 0..<p.channels {
                let plane = padded + c * p.paddedPlane + p.padHeight * p.paddedWidth + p.padWidth
                for h in 0..<p.height {
                    let row = index * imageSize + (c * p.height + h) * p.width
                    switch input {
                    case .float32(let values):
                        Convolution.copyRow(from: values + row, to: plane + h * p.paddedWidth, count: p.width)
                    case .bfloat16Bits(let bits):
                        BFloat16Rounding.expand(bits: bits + 2 * row, into: plane + h * p.paddedWidth, count: p.width)
                    case .normalized(let normalization):
                        normalization.write(from: row, count: p.width, channel: c, into: plane + h * p.paddedWidth)
                    }
                }
            }
        }

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch: UnsafeMutablePointer<Float>) {
            let p = pass
            let padded = scratch, resultSize = p.filters * p.pixels
            // The border stays zero: each image only rewrites the interior.
            padded.update(repeating: 0, count: p.paddedCount)
            let wholePieces = tilesIntoPieces(width: p.outWidth, pixels: p.pixels)
            for n in images {
                Run.pad(p, input: input, image: n, into: padded)
                var result = scratch + p.paddedCount
                if case .float32(let values) = output { result = values + n * resultSize }
                switch (p.shape, wholePieces) {
                case (.rows8Columns32, true): DirectConvolution.sweep(p, packed: packed, padded: padded, output: result)
                case (.rows8Columns32, false):
                    DirectConvolution.sweepRows(p, packed: packed, padded: padded, output: result)
                case (.rows6Columns16, _):
                    DirectConvolution.sweep6x16(p, packed: packed, padded: padded, output: result)
                }
                if let bias {
                    for f in 0..<p.filters {
                        let plane = result + f * p.pixels, b = bias[f]
                        for i in 0..<p.pixels { plane[i] += b }
                    }
                }
                switch output {
                case .float32:
                    if roundsOutput { BFloat16Rounding.roundInPlace(result, count: resultSize) }
                case .bfloat16Bits(let bits):
                    BFloat16Rounding.convert(result, intoBits: bits + 2 * n * resultSize, count: resultSize)
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
        let split = p.outWidth % 16 != 0
        func address(_ q: Int) -> UnsafeRawPointer {
            UnsafeRawPointer(padded + (q / p.outWidth) * p.paddedWidth + q % p.outWidth)
        }
        for panel in 0..<(p.paddedFilters / 8) {
            let a = packed + panel * p.depth * 8
            let c = output + panel * 8 * p.pixels
            let rows = Swift.min(8, p.filters - panel * 8)
            var piece = 0
            while piece < pieces {
                let q0 = piece * 16
                let wide = piece + 1 < pieces
                let q1 = wide ? q0 + 16 : q0
                let bases = (address(q0), address(q0 + 8), address(q1), address(q1 + 8))
                // Each combination gets its own copy of the loop (the flags are constants there).
                let tile: RegisterTile
                switch (wide, split) {
                case (true, false): tile = accumulate(p, a: a, bases, wide: true, split: false)
                case (true, true): tile = accumulate(p, a: a, bases, wide: true, split: true)
                case (false, false): tile = accumulate(p, a: a, bases, wide: false, split: false)
                case (false, true): tile = accumulate(p, a: a, bases, wide: false, split: true)
                }
                store(tile, rows: rows, wide: wide, c: c + q0, ldc: p.pixels)
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

    /// c[i][0 ..< 32 or 16] = the tile's row i, for i < rows; c's rows are `ldc` apart.
    @inline(__always)
    static func store(_ tile: RegisterTile, rows: Int, wide: Bool, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if rows == 8 {
            store(c, tile.c00, tile.c01, wide); store(c + ldc, tile.c10, tile.c11, wide)
            store(c + 2 * ldc, tile.c20, tile.c21, wide); store(c + 3 * ldc, tile.c30, tile.c31, wide)
            store(c + 4 * ldc, tile.c40, tile.c41, wide); store(c + 5 * ldc, tile.c50, tile.c51, wide)
            store(c + 6 * ldc, tile.c60, tile.c61, wide); store(c + 7 * ldc, tile.c70, tile.c71, wide)
            return
        }
        for i in 0..<rows {
            let (v0, v1) = tile.row(i)
            store(c + i * ldc, v0, v1, wide)
        }
    }

    /// Σ over (channel, ki, kj) of a's 8 weights × the pieces at `bases` (first piece's
    /// halves, second piece's halves) shifted by the kernel offset.
    @inline(__always)
    static func accumulate(_ p: Pass, a: UnsafePointer<Float>,
                           _ bases: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer),
                           wide: Bool, split: Bool) -> RegisterTile {
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
        return tile
    }

    @inline(__always)
    static func store(_ row: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>, _ wide: Bool) {
        let raw = UnsafeMutableRawPointer(row)
        raw.storeBytes(of: v0, as: SIMD16<Float>.self)
        if wide { raw.storeBytes(of: v1, toByteOffset: 64, as: SIMD16<Float>.self) }
    }
}
