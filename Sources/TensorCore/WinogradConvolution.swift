// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (VGG, ResNet, GoogLeNet): forward and
// input gradient here, the weight gradient in WinogradWeightGradient.swift.
//
// Each 2x2 block of outputs (a "tile") comes from its 4x4 input patch d and the filter g as
// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A: 16 multiplies per input channel instead of 36, 2.25× fewer.
// Summed over input channels, the elementwise products become 16 independent matrix products,
// M[ξ] (filters × tiles) = U[ξ] (filters × channels) · V[ξ] (channels × tiles), one per
// position ξ of the 4x4 transformed tile, run by the GEMM's register kernel. The filter
// transform U is written straight into the GEMM's packed-A order and the input transform V
// into its packed-B order, so nothing is packed twice. Each thread takes blocks of
// `blockTiles` tiles, whose V and M stay in L2 while the 16 products run. F(2x2, 5x5)
// (WinogradF2x5.swift) and F(4x4, 3x3) (WinogradF4x3.swift, 4x4 output tiles) are the same
// with 6x6 patches and 36 products.
//
// The input gradient of a stride-1 3x3 convolution with padding p is itself such a
// convolution: of the output gradient, with the filters transposed (in ↔ out), rotated by
// 180°, and padding 2 − p.
//
// Every output is the same sequence of operations whatever the thread count or the block a
// tile falls in, so results do not depend on either. F(2x2, 3x3)'s transforms' entries are 0,
// ±1 and ±½, so its rounding error stays within a few ulps of the terms' magnitudes; the 6x6
// transforms' larger entries (up to 8) cost more. The tests state each bound against the
// exact result.

enum WinogradConvolution {
    /// Tiles per block: a multiple of both register tiles' widths (16 and 32).
    static let blockTiles = 64

    /// The transformed filters (forward) and the workers' weight-gradient sums, borrowed by the
    /// calling thread: a pool of their own, so the tens of MB a 512→512 layer needs grow one
    /// buffer, not every buffer of `Convolution.scratch` (a pool grows each buffer it lends to
    /// the largest request).
    static let transformScratch = ScratchPool()

    /// 3x3 (F(2x2, 3x3), every pass) or 5x5 (F(2x2, 5x5), WinogradF2x5.swift, forward and
    /// input gradient), stride 1, no dilation or groups, padding at most kernel − 1 (so the
    /// input gradient, with padding kernel − 1 − p, is one too).
    static func applies(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        let k = g.kernelHeight
        return (k == 3 || (k == 5 && pass != .weightGradient)) && g.kernelWidth == k
            && g.strideHeight == 1 && g.strideWidth == 1 && g.dilationHeight == 1 && g.dilationWidth == 1
            && g.groups == 1 && g.padHeight <= k - 1 && g.padWidth <= k - 1
    }

    /// F(4x4, 3x3): every pass of what F(2x2, 3x3) runs.
    static func appliesLargeTiles(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        g.kernelHeight == 3 && applies(g, pass)
    }

    /// Whether F(4x4, 3x3) is the fastest candidate where it applies: with 64 or more channels
    /// on both sides and at least four blocks of 4x4 tiles (threads split the work by blocks, and
    /// a 7x7 plane has only 4 tiles); for the weight gradient, whose blocks are 128 tiles, one
    /// block per two threads (measured at 2 threads, where one F(4x4, 3x3) block on one thread
    /// beats F(2x2, 3x3)'s four on two, and draws below one block; with more threads F(2x2, 3x3)
    /// gets more workers, so the minimum grows with them). `bench conv`, Zen 3 (AVX2),
    /// 2 threads, GFLOP/s, F(4x4, 3x3) vs F(2x2, 3x3):
    /// - forward / input gradient: VGG-16 b8: 64→64 at 224x224 228 / 222 vs 164 / 169;
    ///   256→256 at 56x56 370 / 275 vs 238 / 173; 512→512 at 28x28 331 / 337 vs 252 / 250; but
    ///   512→512 at 14x14 (128 tiles) 182 / 164 vs 205 / 186;
    /// - ResNet-50 b16: 64→64 at 56x56 201 / 193 vs 127 / 132; 256→256 at 14x14 243 / 250 vs
    ///   220 / 213; but 512→512 at 7x7 (64 tiles) 101 / 98 vs 159 / 160;
    /// - AlexNet b32, 384→256 at 13x13: 309 / 263 vs 197 / 200; ResNet-20 b128, 64→64 at 8x8:
    ///   234 / 225 vs direct 160 / 165;
    /// - ResNet-18 b32, 512→512 at 7x7 (128 tiles): 179 / 169 vs 164 / 175, a draw;
    /// - with 32 channels, a draw against direct (ResNet-20 32→32 at 16x16: 110 / 145 vs
    ///   101 / 154), and it loses with 16.
    /// - weight gradient: ResNet-50 b16 64→64 at 56x56 157 vs 109, 256→256 at 14x14 222 vs 150,
    ///   512→512 at 7x7 (64 tiles) 132–134 vs 130–139, a draw; ResNet-18 b32 512→512 at 7x7
    ///   (128 tiles) 182 vs 109; VGG-16 b8 256→256 at 56x56 329 vs 197, 512→512 at 14x14
    ///   (128 tiles) 143 vs 120; ResNet-20 b128 64→64 at 8x8 126 vs im2col 78.
    /// - With AVX-512 (Zen 5, ms F(4x4, 3x3) vs F(2x2, 3x3)) one block per thread is enough:
    ///   2 threads, forward / input gradient, ResNet-18 b32 512→512 at 7x7 (128 tiles) 12.6 / 12.0
    ///   vs 18.6 / 18.7, VGG-16 b8 512→512 at 14x14 (128 tiles) 11.2 / 11.0 vs 14.5 / 14.4 (on
    ///   bf16 operands), but ResNet-50 b16 at 7x7 (64 tiles, one thread idle) 11.6 vs 9.0; 1 thread,
    ///   ResNet-18 b16 at 7x7 (64 tiles) 15.5 / 14.2 / 12.7 vs 20.7 / 19.1 / 21.3 (weight gradient
    ///   too).
    static func prefersLargeTiles(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        let tiles = g.batch * ((g.outHeight + 3) / 4) * ((g.outWidth + 3) / 4)
        let threads = Swift.max(1, Parallel.threadCount)
        let weightGradientMinimum = weightGradientBlockTiles * Swift.max(1, (threads + 1) / 2)
        let blockPerThread = GEMM.kernelShape == .rows6Columns16 ? largeTileMinimum : blockTiles * threads
        let passMinimum = pass == .weightGradient ? Swift.min(weightGradientMinimum, blockPerThread) : blockPerThread
        return Swift.min(g.inChannels, g.outChannels) >= 64 && tiles >= Swift.min(largeTileMinimum, passMinimum)
    }

    /// The fewest 4x4 tiles for which F(4x4, 3x3) is preferred in the forward pass and input
    /// gradient: four blocks (the weight gradient's minimum is one of its blocks per two threads,
    /// or this if lower). Tests lower it to train small images on it.
    nonisolated(unsafe) static var largeTileMinimum = 4 * blockTiles

    /// Whether Winograd is the fastest candidate where it applies: with 64 or more channels on
    /// both sides, where the transforms (linear in channels) are small beside the products
    /// (quadratic). `bench conv`, Zen 3 (AVX2), 2 threads, forward / input gradient GFLOP/s,
    /// Winograd vs the best other candidate:
    /// - VGG-16 b8: 64→64 at 224x224 181 / 182 vs 99 / 115; 128→128 at 112x112 263 / 225 vs
    ///   165 / 131; 512→512 at 28x28 254 / 208 vs 139 / 133;
    /// - ResNet-18 b32: 64→64 at 56x56 143 / 158 vs 124 / 147; 512→512 at 7x7 120 / 161 vs 76 / 81;
    /// - AlexNet b32: 192→384 at 13x13 213 / 162 vs 126 / 101;
    /// - weight gradient, Winograd vs im2col+GEMM: VGG-16 64→64 at 224x224 99 vs 73, 256→256 at
    ///   56x56 170 vs 120, 512→512 at 28x28 258 vs 148; ResNet-18 64→64 at 56x56 97 vs 93,
    ///   512→512 at 7x7 157 vs 82;
    /// - it loses with 3 channels (VGG's first layer: 37 / 23 vs 54 / 60), with 16 and 32
    ///   (ResNet-20: 33–61 vs 88–91, direct) and, narrowly, with 64 on 8x8 planes (106 / 100 vs
    ///   114 / 110, direct).
    /// - 5x5, AlexNet b32 64→192 at 27x27: 237 / 170 vs im2col+GEMM 129 / 124.
    /// - With AVX-512, on 7x7 planes (16 tiles, 7 of them half padding) its input gradient and
    ///   weight gradient need 256 channels: Zen 5, GoogLeNet b16, ms Winograd vs im2col+GEMM,
    ///   160→320 2.98 / 3.41 vs 2.12 / 2.38, 192→384 3.87 / 4.43 vs 3.01 / 3.41 (its forward pass
    ///   still wins, 2.35 vs 2.45 and 3.17 vs 3.27); ResNet-50 b16 512→512 9.26 / 11.14 vs
    ///   10.97 / 12.25. (Measured at 7x7 only: the rule stops there.)
    static func prefers(_ g: ConvolutionGeometry, _ pass: ConvolutionPass) -> Bool {
        let channels = Swift.min(g.inChannels, g.outChannels), pixels = g.outHeight * g.outWidth
        if GEMM.kernelShape == .rows8Columns32 && pixels <= 7 * 7 && pass != .forward && channels < 256 {
            return false
        }
        return channels >= 128 || (channels >= 64 && pixels > 64)
    }

    /// output = conv(input, weight) + bias
    static func forward(
        _ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, outputTile: Int = 2
    ) {
        Problem(forward: g, outputTile: outputTile).run(
            source: input, normalization: nil, weight: weight, rotated: false, bias: bias, output: output)
    }

    /// output = conv(input, weight) + bias, the input a batch norm's output normalised as the
    /// input transform reads it.
    static func forward(
        _ g: ConvolutionGeometry, input: ChannelNormalization, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, outputTile: Int = 2
    ) {
        Problem(forward: g, outputTile: outputTile).run(
            source: input.values, normalization: input, weight: weight, rotated: false, bias: bias, output: output)
    }

    /// gradInput = conv(gradOutput, W rotated 180° and transposed, padding kernel − 1 − p)
    static func backwardInput(
        _ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>, outputTile: Int = 2
    ) {
        let problem = Problem(
            batch: g.batch, channels: g.outChannels, height: g.outHeight, width: g.outWidth,
            filters: g.inChannels, kernel: g.kernelHeight, outputTile: outputTile,
            padTop: g.kernelHeight - 1 - g.padHeight,
            padLeft: g.kernelWidth - 1 - g.padWidth, outHeight: g.inHeight, outWidth: g.inWidth,
            shape: GEMM.kernelShape)
        problem.run(
            source: gradOutput, normalization: nil, weight: weight, rotated: true, bias: nil, output: gradInput)
    }

    /// One Winograd convolution: `channels` source planes of height×width, padded, into
    /// `filters` planes of outHeight×outWidth (= the padded size − kernel + 1).
    struct Problem {
        let batch: Int, channels: Int, height: Int, width: Int, filters: Int
        /// 3 or 5: the filter's size.
        let kernel: Int
        /// 2 or 4 (F(4x4, 3x3)): the side of a tile of outputs; a tile's input patch has
        /// side outputTile + kernel − 1.
        let outputTile: Int
        let padTop: Int, padLeft: Int, outHeight: Int, outWidth: Int
        /// The register tile, read once: packing and the sweep must agree on it.
        let shape: GEMMKernelShape

        var tilesHigh: Int { (outHeight + outputTile - 1) / outputTile }
        var tilesWide: Int { (outWidth + outputTile - 1) / outputTile }
        var tileCount: Int { batch * tilesHigh * tilesWide }
        /// The side of a tile's input patch: 4 for F(2x2, 3x3), 6 for F(2x2, 5x5) and F(4x4, 3x3).
        var patchSide: Int { outputTile + kernel - 1 }
        /// The positions ξ of a transformed tile: 16 for F(2x2, 3x3), 36 for the others.
        var positions: Int { patchSide * patchSide }
        /// Filters rounded up to whole A panels (the padding rows of U are zeros).
        var paddedFilters: Int { GEMM.roundUp(filters, shape.rows) }
        /// Depth slices as in the GEMM: even slices of at most `GEMM.blockDepth` channels.
        var sliceDepth: Int {
            let slices = (channels + GEMM.blockDepth - 1) / GEMM.blockDepth
            return (channels + slices - 1) / slices
        }
        var transformedFiltersSize: Int { positions * paddedFilters * channels }
        /// One block's V (positions × channels × blockTiles) and M (positions × filters ×
        /// blockTiles), and the 6x6 transforms' patch vectors.
        var blockScratchSize: Int {
            positions * (channels + filters) * WinogradConvolution.blockTiles + Self.patchScratchSize
        }

        func run(
            source: UnsafePointer<Float>, normalization: ChannelNormalization?, weight: UnsafePointer<Float>,
            rotated: Bool,
            bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
        ) {
            WinogradConvolution.transformScratch.withScratch(transformedFiltersSize) { transformed in
                Parallel.forEachRange(
                    paddedFilters / shape.rows,
                    FilterTransform(problem: self, weight: weight, rotated: rotated, packed: transformed))
                let blocks = (tileCount + WinogradConvolution.blockTiles - 1) / WinogradConvolution.blockTiles
                Parallel.forEachRange(
                    blocks,
                    TileBlocks(problem: self, source: source, normalization: normalization, filters: transformed,
                               bias: bias, output: output))
            }
        }

        /// The kernel×kernel filter f for channel c, row-major, into `taps`; `rotated`: from the
        /// forward weight [channels][filters][kernel][kernel] of this problem's transpose, rotated
        /// 180° (the input gradient's filters).
        @inline(__always)
        func copyTaps(
            _ weight: UnsafePointer<Float>, filter f: Int, channel c: Int, rotated: Bool,
            into taps: UnsafeMutablePointer<Float>
        ) {
            let count = kernel * kernel
            if rotated {
                let w = weight + (c * filters + f) * count
                for i in 0..<count { taps[i] = w[count - 1 - i] }
            } else {
                let w = weight + (f * channels + c) * count
                for i in 0..<count { taps[i] = w[i] }
            }
        }

        /// Where U[ξ]'s value for filter f and channel c sits, ξ·paddedFilters·channels apart.
        @inline(__always)
        func packedFilterOffset(filter f: Int, channel c: Int) -> Int {
            let mr = shape.rows
            let (c0, kc) = slice(of: c)
            return c0 * paddedFilters + (f / mr) * mr * kc + (c - c0) * mr + f % mr
        }

        /// Where channels [c0, c0 + kc) of the slice holding channel `c` start, and kc.
        @inline(__always)
        func slice(of c: Int) -> (start: Int, depth: Int) {
            let start = c / sliceDepth * sliceDepth
            return (start, Swift.min(sliceDepth, channels - start))
        }
    }

    /// U = G g Gᵀ for panels of `shape.rows` filters in a range, written in packed-A order: for
    /// position ξ, the slice of channels [c0, c0 + kc) starts at ξ·paddedFilters·channels +
    /// c0·paddedFilters, and within it, filter f's value for channel c sits in panel f / mr at
    /// (c − c0)·mr + f % mr. A panel's filters for one channel are contiguous, so 3x3 filters
    /// are transformed a panel at a time, one filter per lane (WinogradFilterPanels.swift).
    struct FilterTransform: ParallelBody {
        let problem: Problem
        let weight: UnsafePointer<Float>
        let rotated: Bool
        let packed: UnsafeMutablePointer<Float>

        func run(_ range: Range<Int>) {
            let p = problem
            let plane = p.paddedFilters * p.channels
            let mr = p.shape.rows
            for panel in range {
                guard p.kernel == 5 else {
                    for c in 0..<p.channels {
                        p.transformFilterPanel3x3(
                            weight, firstFilter: panel * mr, channel: c, rotated: rotated,
                            into: packed + p.packedFilterOffset(filter: panel * mr, channel: c), plane: plane)
                    }
                    continue
                }
                for f in (panel * mr)..<((panel + 1) * mr) {
                    for c in 0..<p.channels {
                        let offset = p.packedFilterOffset(filter: f, channel: c)
                        guard f < p.filters else {
                            // The last panel's padding rows are zeros.
                            for xi in 0..<p.positions { packed[xi * plane + offset] = 0 }
                            continue
                        }
                        p.transformFilterSixBySix(
                            weight, filter: f, channel: c, rotated: rotated, into: packed + offset, stride: plane)
                    }
                }
            }
        }
    }

    /// Blocks of tiles: input transform, the 16 (or 36) products, output transform.
    struct TileBlocks: ParallelBody {
        let problem: Problem
        let source: UnsafePointer<Float>
        /// A batch norm's normalisation of the source, applied as the input transform reads it.
        let normalization: ChannelNormalization?
        let filters: UnsafePointer<Float>
        let bias: UnsafePointer<Float>?
        let output: UnsafeMutablePointer<Float>

        func run(_ range: Range<Int>) {
            // Concrete calls, so that each map's transforms are specialised.
            if let normalization { run(range, map: normalization) } else { run(range, map: UnmappedSource()) }
        }

        @inline(__always)
        private func run<Map: WinogradSourceMap>(_ range: Range<Int>, map: Map) {
            let p = problem
            let tiles = WinogradConvolution.blockTiles
            Convolution.scratch.withScratch(p.blockScratchSize) { scratch in
                let transformedInput = scratch
                let products = scratch + p.positions * p.channels * tiles
                let patch = products + p.positions * p.filters * tiles
                for block in range {
                    let first = block * tiles
                    let count = Swift.min(tiles, p.tileCount - first)
                    let paddedCount = GEMM.roundUp(count, p.shape.columns)
                    if p.patchSide == 4 {
                        p.transformInput(
                            source, map: map, tiles: first..<(first + count), into: transformedInput,
                            layout: PackedTileLayout(p), paddedCount: paddedCount)
                    } else {
                        p.transformInputSixBySix(
                            source, map: map, tiles: first..<(first + count), into: transformedInput,
                            layout: PackedTileLayout(p), paddedCount: paddedCount, patch: patch)
                    }
                    multiply(tileCount: count, transformedInput: transformedInput, products: products)
                    if p.outputTile == 4 {
                        transformOutputF4x3(tiles: first..<(first + count), products: products)
                    } else {
                        transformOutput(tiles: first..<(first + count), products: products)
                    }
                }
            }
        }

        /// M[ξ] = U[ξ] · V[ξ] for every position, over depth slices and 192-filter row blocks.
        func multiply(
            tileCount count: Int, transformedInput v: UnsafePointer<Float>,
            products m: UnsafeMutablePointer<Float>
        ) {
            let p = problem
            let blockTiles = WinogradConvolution.blockTiles
            let filterPlane = p.paddedFilters * p.channels
            for xi in 0..<p.positions {
                var c0 = 0
                while c0 < p.channels {
                    let kc = Swift.min(p.sliceDepth, p.channels - c0)
                    let u = filters + xi * filterPlane + c0 * p.paddedFilters
                    let b = v + xi * p.channels * blockTiles + c0 * blockTiles
                    var ic = 0
                    while ic < p.filters {
                        let mc = Swift.min(GEMM.blockRows, p.filters - ic)
                        GEMM.multiplyPanels(
                            rows: mc, columns: count, depth: kc, packedA: u + ic * kc, packedB: b,
                            c: m + (xi * p.filters + ic) * blockTiles, ldc: blockTiles,
                            beta: c0 == 0 ? 0 : 1, shape: p.shape)
                        ic += mc
                    }
                    c0 += kc
                }
            }
        }

        /// Y = Aᵀ m A (for F(2x2, 3x3) Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]), plus the bias, into
        /// each tile's 2x2 outputs (clipped at odd edges). Eight tiles at a time: their M values
        /// are contiguous.
        func transformOutput(tiles: Range<Int>, products m: UnsafePointer<Float>) {
            let p = problem
            let planeSize = p.outHeight * p.outWidth
            for f in 0..<p.filters {
                let offset = bias?[f] ?? 0
                var position = TilePosition(tiles.lowerBound, p)
                var local = 0
                while local < tiles.count {
                    let lanes = Swift.min(8, tiles.count - local)
                    let products = EightTileProducts(m, filter: f, local: local, lanes: lanes, p)
                    let t = p.kernel == 3 ? WinogradConvolution.outputF2x3(products.at) : p.outputF2x5(products.at)
                    let y00 = t.0 + offset, y01 = t.1 + offset, y10 = t.2 + offset, y11 = t.3 + offset
                    let plane = output + (position.image * p.filters + f) * planeSize
                    if lanes == 8 && position.column + 8 <= p.tilesWide && 2 * position.column + 16 <= p.outWidth
                        && 2 * position.row + 2 <= p.outHeight
                    {
                        // Eight tiles of one row: their two output rows are 16 contiguous pixels each.
                        let top = UnsafeMutableRawPointer(plane + 2 * position.row * p.outWidth + 2 * position.column)
                        top.storeBytes(of: WinogradConvolution.interleave(y00, y01), as: SIMD16<Float>.self)
                        top.storeBytes(
                            of: WinogradConvolution.interleave(y10, y11),
                            toByteOffset: p.outWidth * MemoryLayout<Float>.stride,
                            as: SIMD16<Float>.self)
                        for _ in 0..<8 { position.advance(p) }
                        local += 8
                        continue
                    }
                    for l in 0..<lanes {
                        let plane = output + (position.image * p.filters + f) * planeSize
                        let y = 2 * position.row, xPixel = 2 * position.column
                        let top = plane + y * p.outWidth + xPixel
                        top[0] = y00[l]
                        let right = xPixel + 1 < p.outWidth
                        if right { top[1] = y01[l] }
                        if y + 1 < p.outHeight {
                            top[p.outWidth] = y10[l]
                            if right { top[p.outWidth + 1] = y11[l] }
                        }
                        position.advance(p)
                    }
                    local += lanes
                }
            }
        }
    }

    /// Y = Aᵀ M A of F(2x2, 3x3) for eight tiles, `value(ξ)` their products at ξ = 4i + j:
    /// Aᵀ on rows (s0 = m0 + m1 + m2, s1 = m1 − m2 − m3), then on columns.
    @inline(__always)
    static func outputF2x3(_ value: (Int) -> SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let s00 = value(0) + value(4) + value(8), s01 = value(1) + value(5) + value(9)
        let s02 = value(2) + value(6) + value(10), s03 = value(3) + value(7) + value(11)
        let s10 = value(4) - value(8) - value(12), s11 = value(5) - value(9) - value(13)
        let s12 = value(6) - value(10) - value(14), s13 = value(7) - value(11) - value(15)
        return (s00 + s01 + s02, s01 - s02 - s03, s10 + s11 + s12, s11 - s12 - s13)
    }

    /// One filter's products M[ξ] for up to eight consecutive tiles of a block (zeros in the
    /// missing lanes).
    struct EightTileProducts {
        let base: UnsafePointer<Float>, stride: Int, lanes: Int

        @inline(__always)
        init(_ m: UnsafePointer<Float>, filter f: Int, local: Int, lanes: Int, _ p: Problem) {
            base = m + f * WinogradConvolution.blockTiles + local
            stride = p.filters * WinogradConvolution.blockTiles
            self.lanes = lanes
        }

        @inline(__always)
        func at(_ xi: Int) -> SIMD8<Float> {
            let row = base + xi * stride
            if lanes == 8 { return UnsafeRawPointer(row).loadUnaligned(as: SIMD8<Float>.self) }
            var r = SIMD8<Float>()
            for l in 0..<lanes { r[l] = row[l] }
            return r
        }
    }

    /// (a0, b0, a1, b1, …, a7, b7)
    @inline(__always)
    static func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
        SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    }

    /// A tile's image and (row, column) in tile units, stepped in tile order.
    struct TilePosition {
        var image: Int, row: Int, column: Int

        init(_ tile: Int, _ p: Problem) {
            column = tile % p.tilesWide
            row = tile / p.tilesWide % p.tilesHigh
            image = tile / (p.tilesWide * p.tilesHigh)
        }

        @inline(__always)
        mutating func advance(_ p: Problem) {
            column += 1
            if column == p.tilesWide {
                column = 0
                row += 1
                if row == p.tilesHigh {
                    row = 0
                    image += 1
                }
            }
        }
    }
}

extension WinogradConvolution.Problem {
    /// The forward pass of `g` (also the problem its weight gradient transposes).
    init(forward g: ConvolutionGeometry, outputTile: Int = 2) {
        self.init(
            batch: g.batch, channels: g.inChannels, height: g.inHeight, width: g.inWidth,
            filters: g.outChannels, kernel: g.kernelHeight, outputTile: outputTile,
            padTop: g.padHeight, padLeft: g.padWidth,
            outHeight: g.outHeight, outWidth: g.outWidth, shape: GEMM.kernelShape)
    }
}
