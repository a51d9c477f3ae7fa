// The weight gradient through Winograd F(2x2, 3x3) or F(4x4, 3x3): the exact transpose of the
// forward pass.
//
// Forward, tile t's outputs are Y = Aᵀ[Σ_c U[c] ⊙ V_t[c]]A with U = G g Gᵀ. Differentiating,
// ∂L/∂U[k][c] = Σ_t (A dY_t Aᵀ) ⊙ V_t[c] and ∂L/∂g = Gᵀ (∂L/∂U) G. Outputs past an odd edge
// have dY = 0, so the sum over tiles is the whole gradient. Over the 16 positions ξ (36 for
// F(4x4, 3x3), whose transforms are in WinogradF4x3.swift) the sum is 16 (36) matrix
// products, dU[ξ] (filters × channels) = dM[ξ] (filters × tiles) · V[ξ]ᵀ (tiles × channels),
// whose depth is a block's tiles. The transforms run eight tiles per vector, so they write
// tiles contiguously (row-major [ξ][channel or filter][tile]) and the GEMM packs
// its operands, a small cost beside the products. Each worker sums its run of blocks into its own dU; the
// workers' sums are added in worker order (the same bits for a given thread count, as on the
// im2col path) and transformed back to 3x3.

extension WinogradConvolution {
    /// Tiles per weight-gradient block: the depth of its products.
    static let weightGradientBlockTiles = 128

    /// gradWeight (and gradBias) = ∂loss/∂weight summed over the batch (overwritten), through
    /// F(2x2, 3x3) or, with `outputTile` 4, F(4x4, 3x3).
    static func backwardWeight(
        _ g: ConvolutionGeometry, input: UnsafePointer<Float>,
        gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
        gradBias: UnsafeMutablePointer<Float>?, outputTile: Int = 2
    ) {
        backwardWeight(g, input: input, normalization: nil, gradOutput: gradOutput, gradWeight: gradWeight,
                       gradBias: gradBias, outputTile: outputTile)
    }

    /// `backwardWeight` with the input a batch norm's output, normalised as the input transform
    /// reads it.
    static func backwardWeight(
        _ g: ConvolutionGeometry, input: ChannelNormalization,
        gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
        gradBias: UnsafeMutablePointer<Float>?, outputTile: Int = 2
    ) {
        backwardWeight(g, input: input.values, normalization: input, gradOutput: gradOutput, gradWeight: gradWeight,
                       gradBias: gradBias, outputTile: outputTile)
    }

    private static func backwardWeight(
        _ g: ConvolutionGeometry, input: UnsafePointer<Float>, normalization: ChannelNormalization?,
        gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
        gradBias: UnsafeMutablePointer<Float>?, outputTile: Int
    ) {
        let problem = Problem(forward: g, outputTile: outputTile)
        let blocks = (problem.tileCount + weightGradientBlockTiles - 1) / weightGradientBlockTiles
        let workers = Swift.max(1, Swift.min(Parallel.threadCount, blocks))
        let partialSize = problem.positions * problem.filters * problem.channels
        WinogradConvolution.transformScratch.withScratch(workers * partialSize) { partials in
            Parallel.forEachRange(
                workers,
                WeightGradientRuns(
                    problem: problem, input: input, normalization: normalization, gradOutput: gradOutput,
                    partials: partials,
                    workers: workers, blocks: blocks))
            Parallel.forEachRange(
                partialSize, minimumChunk: 1 << 14,
                SumPartials(partials: partials, workers: workers, size: partialSize))
            Parallel.forEachRange(
                problem.filters,
                FilterGradients(
                    problem: problem, sums: partials, gradOutput: gradOutput, gradWeight: gradWeight,
                    gradBias: gradBias))
        }
    }

    /// Worker w sums blocks [w·blocks/workers, (w+1)·blocks/workers) into its partial dU.
    struct WeightGradientRuns: ParallelBody {
        let problem: Problem
        let input: UnsafePointer<Float>
        /// A batch norm's normalisation of the input, applied as the input transform reads it.
        let normalization: ChannelNormalization?
        let gradOutput: UnsafePointer<Float>
        let partials: UnsafeMutablePointer<Float>
        let workers: Int, blocks: Int

        func run(_ range: Range<Int>) {
            // Concrete calls, so that each map's transforms are specialised.
            if let normalization { run(range, map: normalization) } else { run(range, map: UnmappedSource()) }
        }

        @inline(__always)
        private func run<Map: WinogradSourceMap>(_ range: Range<Int>, map: Map) {
            let p = problem
            let tiles = WinogradConvolution.weightGradientBlockTiles
            let partialSize = p.positions * p.filters * p.channels
            let transformsSize = p.positions * (p.channels + p.filters) * tiles
            Convolution.scratch.withScratch(transformsSize + Problem.patchScratchSize) { scratch in
                let transformedInput = scratch
                let transformedGradient = scratch + p.positions * p.channels * tiles
                let patch = scratch + transformsSize
                let layout = RowMajorTileLayout(channels: p.channels, tiles: tiles)
                for worker in range {
                    let first = worker * blocks / workers, end = (worker + 1) * blocks / workers
                    let sums = partials + worker * partialSize
                    for block in first..<end {
                        let start = block * tiles
                        let count = Swift.min(tiles, p.tileCount - start)
                        if p.outputTile == 4 {
                            p.transformInputSixBySix(
                                input, map: map, tiles: start..<(start + count), into: transformedInput, layout: layout,
                                paddedCount: count, patch: patch)
                            transformGradientF4x3(tiles: start..<(start + count), into: transformedGradient)
                        } else {
                            p.transformInput(
                                input, map: map, tiles: start..<(start + count), into: transformedInput, layout: layout,
                                paddedCount: count)
                            transformGradient(tiles: start..<(start + count), into: transformedGradient)
                        }
                        multiply(
                            depth: count, transformedGradient: transformedGradient,
                            transformedInput: transformedInput, sums: sums, accumulate: block != first)
                    }
                }
            }
        }

        /// dM = A dY Aᵀ per tile and filter, A = [[1, 0], [1, 1], [1, −1], [0, −1]], dY the
        /// tile's 2x2 output gradient (zero past an odd edge), row-major [ξ][filter][tile].
        func transformGradient(tiles: Range<Int>, into m: UnsafeMutablePointer<Float>) {
            let p = problem
            let blockTiles = WinogradConvolution.weightGradientBlockTiles
            let plane = p.filters * blockTiles
            let planeSize = p.outHeight * p.outWidth
            for k in 0..<p.filters {
                var position = TilePosition(tiles.lowerBound, p)
                var local = 0
                while local < tiles.count {
                    let y = 2 * position.row, x = 2 * position.column
                    let dy = gradOutput + (position.image * p.filters + k) * planeSize + y * p.outWidth + x
                    let at = m + k * blockTiles + local
                    // Eight tiles of one row, inside the plane: their gradients are two rows of 16.
                    if tiles.count - local >= 8 && position.column + 8 <= p.tilesWide && x + 16 <= p.outWidth
                        && y + 2 <= p.outHeight
                    {
                        let top = UnsafeRawPointer(dy).loadUnaligned(as: SIMD16<Float>.self)
                        let bottom = UnsafeRawPointer(dy + p.outWidth).loadUnaligned(as: SIMD16<Float>.self)
                        let a = top.evenHalf, b = top.oddHalf, c = bottom.evenHalf, d = bottom.oddHalf
                        @inline(__always) func store(_ q0: SIMD8<Float>, _ q1: SIMD8<Float>, row: Int) {
                            let to = UnsafeMutableRawPointer(at + 4 * row * plane)
                            let stride = plane * MemoryLayout<Float>.stride
                            to.storeBytes(of: q0, as: SIMD8<Float>.self)
                            to.storeBytes(of: q0 + q1, toByteOffset: stride, as: SIMD8<Float>.self)
                            to.storeBytes(of: q0 - q1, toByteOffset: 2 * stride, as: SIMD8<Float>.self)
                            to.storeBytes(of: -q1, toByteOffset: 3 * stride, as: SIMD8<Float>.self)
                        }
                        store(a, b, row: 0)
                        store(a + c, b + d, row: 1)
                        store(a - c, b - d, row: 2)
                        store(-c, -d, row: 3)
                        for _ in 0..<8 { position.advance(p) }
                        local += 8
                        continue
                    }
                    let right = x + 1 < p.outWidth, below = y + 1 < p.outHeight
                    let a = dy[0], b = right ? dy[1] : 0
                    let c = below ? dy[p.outWidth] : 0, d = right && below ? dy[p.outWidth + 1] : 0
                    @inline(__always) func store(_ q0: Float, _ q1: Float, row: Int) {
                        let to = at + 4 * row * plane
                        to[0] = q0
                        to[plane] = q0 + q1
                        to[2 * plane] = q0 - q1
                        to[3 * plane] = -q1
                    }
                    store(a, b, row: 0)
                    store(a + c, b + d, row: 1)
                    store(a - c, b - d, row: 2)
                    store(-c, -d, row: 3)
                    position.advance(p)
                    local += 1
                }
            }
        }

        /// dU[ξ] (+)= dM[ξ] · V[ξ]ᵀ for the 16 (or 36) positions, on this thread.
        func multiply(
            depth: Int, transformedGradient m: UnsafePointer<Float>, transformedInput v: UnsafePointer<Float>,
            sums: UnsafeMutablePointer<Float>, accumulate: Bool
        ) {
            let p = problem
            let tiles = WinogradConvolution.weightGradientBlockTiles
            for xi in 0..<p.positions {
                GEMM.multiply(
                    transposeA: false, transposeB: true, m: p.filters, n: p.channels, k: depth,
                    a: m + xi * p.filters * tiles, lda: tiles, b: v + xi * p.channels * tiles, ldb: tiles,
                    beta: accumulate ? 1 : 0, c: sums + xi * p.filters * p.channels, ldc: p.channels,
                    threads: 1)
            }
        }
    }

    /// partials[0] += partials[w] for w = 1, 2, … in order.
    struct SumPartials: ParallelBody {
        let partials: UnsafeMutablePointer<Float>
        let workers: Int, size: Int

        func run(_ range: Range<Int>) {
            for worker in 1..<Swift.max(1, workers) {
                let other = partials + worker * size
                for i in range { partials[i] += other[i] }
            }
        }
    }

    /// gradWeight[k][c] = Gᵀ dU[k][c] G and gradBias[k] = the sum of filter k's output gradient,
    /// for filters in a range.
    struct FilterGradients: ParallelBody {
        let problem: Problem
        let sums: UnsafePointer<Float>
        let gradOutput: UnsafePointer<Float>
        let gradWeight: UnsafeMutablePointer<Float>
        let gradBias: UnsafeMutablePointer<Float>?

        func run(_ range: Range<Int>) {
            let p = problem
            let plane = p.filters * p.channels
            for k in range {
                if p.outputTile == 4 {
                    for c in 0..<p.channels {
                        p.filterGradientF4x3(
                            sums + k * p.channels + c, plane: plane, into: gradWeight + (k * p.channels + c) * 9)
                    }
                } else {
                    for c in 0..<p.channels {
                        p.filterGradientF2x3(
                            sums + k * p.channels + c, plane: plane, into: gradWeight + (k * p.channels + c) * 9)
                    }
                }
                if let gradBias {
                    let planeSize = p.outHeight * p.outWidth
                    var sum: Double = 0
                    for n in 0..<p.batch {
                        sum += Reduction.sum(gradOutput + (n * p.filters + k) * planeSize, count: planeSize)
                    }
                    gradBias[k] = Float(sum)
                }
            }
        }
    }
}

extension WinogradConvolution.Problem {
    /// gradWeight = Gᵀ dU G of one filter and channel for F(2x2, 3x3), G = [[1, 0, 0],
    /// [½, ½, ½], [½, −½, ½], [0, 0, 1]], dU[ξ] at u[ξ·plane] (ξ = 4i + j).
    @inline(__always)
    func filterGradientF2x3(_ u: UnsafePointer<Float>, plane: Int, into w: UnsafeMutablePointer<Float>) {
        @inline(__always) func row(_ i: Int) -> SIMD4<Float> {
            SIMD4(u[4 * i * plane], u[(4 * i + 1) * plane], u[(4 * i + 2) * plane], u[(4 * i + 3) * plane])
        }
        let u0 = row(0), u1 = row(1), u2 = row(2), u3 = row(3)
        let s0 = u0 + 0.5 * (u1 + u2), s1 = 0.5 * (u1 - u2), s2 = 0.5 * (u1 + u2) + u3
        @inline(__always) func store(_ s: SIMD4<Float>, row i: Int) {
            w[3 * i] = s[0] + 0.5 * (s[1] + s[2])
            w[3 * i + 1] = 0.5 * (s[1] - s[2])
            w[3 * i + 2] = 0.5 * (s[1] + s[2]) + s[3]
        }
        store(s0, row: 0)
        store(s1, row: 1)
        store(s2, row: 2)
    }
}
