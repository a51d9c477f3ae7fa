// Max and average 2-D pooling with PyTorch semantics, over NCHW buffers.
//
// Every (image, channel) plane is independent, so planes are spread over threads in
// contiguous runs. Windows are clipped to the input once per output element; padding
// counts as -inf for max and, with countIncludePad, as zeros for average.

public enum Pooling {
    /// Planes per thread chunk such that a chunk is at least ~16K input elements.
    static func minimumPlanes(_ g: PoolingGeometry) -> Int {
        Swift.max(1, (1 << 14) / Swift.max(1, g.inHeight * g.inWidth))
    }

    /// The input rows and columns under output (oh, ow), clipped to the input.
    @inline(__always)
    static func window(_ g: PoolingGeometry, _ oh: Int, _ ow: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let h0 = oh * g.strideHeight - g.padHeight, w0 = ow * g.strideWidth - g.padWidth
        return (Swift.max(h0, 0)..<Swift.min(h0 + g.kernelHeight, g.inHeight),
                Swift.max(w0, 0)..<Swift.min(w0 + g.kernelWidth, g.inWidth))
    }

    /// output = max over each window; argmax = the winner's index h·W + w in its input plane.
    /// Ties keep the first (row-major) element, NaN wins, as in PyTorch.
    public static func maxForward(_ g: PoolingGeometry, input: UnsafePointer<Float>,
                                  output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              MaxForward(g: g, input: input, output: output, argmax: argmax))
    }

    /// gradInput (overwritten) = each output gradient routed to its window's winner;
    /// overlapping windows accumulate.
    public static func maxBackward(_ g: PoolingGeometry, gradOutput: UnsafePointer<Float>,
                                   argmax: UnsafePointer<Int32>, gradInput: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              MaxBackward(g: g, gradOutput: gradOutput, argmax: argmax, gradInput: gradInput))
    }

    /// output = max over each window, keeping no winners: `maxBackward(_:input:gradOutput:gradInput:)`
    /// finds them again. A layer then holds no index per output between the passes (VGG-16 at
    /// batch 32: 196 MB of Int32), for a second search over the windows in backward.
    public static func maxForward(_ g: PoolingGeometry, input: UnsafePointer<Float>,
                                  output: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              MaxPlanesRecomputingWinners(g: g, input: input, output: output, gradOutput: nil,
                                                          gradInput: nil))
    }

    /// gradInput (overwritten) as `maxBackward(_:gradOutput:argmax:gradInput:)`, with each
    /// plane's winners found again from the forward pass's input by the same comparisons in the
    /// same order, so they are the same winners.
    public static func maxBackward(_ g: PoolingGeometry, input: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                                   gradInput: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              MaxPlanesRecomputingWinners(g: g, input: input, output: nil, gradOutput: gradOutput,
                                                          gradInput: gradInput))
    }

    /// Winners, one plane at a time into scratch: forward writes the maxima, backward routes
    /// the output gradient.
    struct MaxPlanesRecomputingWinners: ParallelBody {
        let g: PoolingGeometry, input: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>?
        let gradOutput: UnsafePointer<Float>?, gradInput: UnsafeMutablePointer<Float>?

        func run(_ planes: Range<Int>) {
            let inPlane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
            scratch.withScratch(2 * outPlane + g.maxPoolingBorderScratch) { buffer in
                let padded = buffer + 2 * outPlane
                (buffer + outPlane).withMemoryRebound(to: Int32.self, capacity: outPlane) { winners in
                    let kernel = MaxForward(g: g, input: input, output: buffer, argmax: winners)
                    for plane in planes {
                        let maxima = output.map { $0 + plane * outPlane } ?? buffer
                        kernel.maxOfPlane(input + plane * inPlane, maxima, winners, padded: padded)
                        guard let gradOutput, let gradInput else { continue }
                        let gradSource = gradInput + plane * inPlane
                        gradSource.update(repeating: 0, count: inPlane)
                        let gradResult = gradOutput + plane * outPlane
                        for i in 0..<outPlane { gradSource[Int(winners[i])] += gradResult[i] }
                    }
                }
            }
        }
    }

    /// Scratch for winners found again (one plane's maxima and indices per thread) and for the
    /// −inf-bordered copies of planes.
    static let scratch = ScratchPool()

    /// The divisor of avg_pool2d for output (oh, ow): with countIncludePad, the window
    /// clipped to the padded input (H + pad); otherwise the real input elements only.
    @inline(__always)
    static func divisor(_ g: PoolingGeometry, countIncludePad: Bool, _ oh: Int, _ ow: Int,
                        rows: Range<Int>, columns: Range<Int>) -> Float {
        if countIncludePad {
            let h0 = oh * g.strideHeight - g.padHeight, w0 = ow * g.strideWidth - g.padWidth
            let h1 = Swift.min(h0 + g.kernelHeight, g.inHeight + g.padHeight)
            let w1 = Swift.min(w0 + g.kernelWidth, g.inWidth + g.padWidth)
            return Float((h1 - h0) * (w1 - w0))
        }
        return Float(rows.count * columns.count)
    }

    public static func averageForward(_ g: PoolingGeometry, countIncludePad: Bool, input: UnsafePointer<Float>,
                                      output: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              AverageForward(g: g, countIncludePad: countIncludePad, input: input, output: output))
    }

    /// gradInput (overwritten) = each output gradient spread evenly over its window.
    public static func averageBackward(_ g: PoolingGeometry, countIncludePad: Bool, gradOutput: UnsafePointer<Float>,
                                       gradInput: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(g.batch * g.channels, minimumChunk: minimumPlanes(g),
                              AverageBackward(g: g, countIncludePad: countIncludePad, gradOutput: gradOutput, gradInput: gradInput))
    }

    // The loop bodies (see ParallelBody), over runs of (image, channel) planes.

    struct MaxForward: ParallelBody {
        let g: PoolingGeometry, input: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>

        func run(_ planes: Range<Int>) {
            let inPlane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
            scratch.withScratch(g.maxPoolingBorderScratch) { padded in
                for plane in planes {
                    maxOfPlane(input + plane * inPlane, output + plane * outPlane, argmax + plane * outPlane,
                               padded: padded)
                }
            }
        }

        /// One plane's maxima and winners; `padded` holds `g.maxPoolingBorderScratch` floats.
        @inline(__always)
        func maxOfPlane(_ source: UnsafePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                        _ winners: UnsafeMutablePointer<Int32>, padded: UnsafeMutablePointer<Float>) {
            if !g.maxPoolingNeedsBorder {
                maxOf2x2Windows(source, result, winners)
                return
            }
            if g.maxPoolingRunsRowsFirst {
                maxOfStrideOneWindows(source, result, winners, padded)
                return
            }
            // One copy of the loop per stride, so the lane loads are not chosen per element.
            switch g.strideWidth {
            case 1: maxOfPaddedWindows(source, result, winners, padded, ContiguousLanes.self)
            case 2: maxOfPaddedWindows(source, result, winners, padded, EveryOtherLanes.self)
            default: maxOfPaddedWindows(source, result, winners, padded, StridedLanes.self)
            }
        }

        /// Every window in groups of eight outputs of a row, on a copy of the plane bordered
        /// with −inf (`paddedPlaneSize` floats at `padded`): no window is clipped and no output
        /// is left to a scalar loop, whatever the padding, ceil mode or plane size (GoogLeNet's
        /// 3x3 stride-1 pooling of 7x7 and 14x14 planes, ResNet's padded 3x3 stride 2). A −inf
        /// border never wins (the rule is a larger value or a NaN), so each window has the
        /// clipped path's winner: visited in the same row-major order, starting from its first
        /// element inside the input, indices in the unpadded plane.
        @inline(__always)
        private func maxOfPaddedWindows<Lanes: WindowLanes>(
            _ source: UnsafePointer<Float>, _ result: UnsafeMutablePointer<Float>,
            _ winners: UnsafeMutablePointer<Int32>, _ padded: UnsafeMutablePointer<Float>, _: Lanes.Type
        ) {
            // Locals, not the geometry's computed sizes (each a division) in the loops.
            let width = g.inWidth, stride = g.strideWidth, outHeight = g.outHeight, outWidth = g.outWidth
            let kernelHeight = g.kernelHeight, kernelWidth = g.kernelWidth
            let padHeight = g.padHeight, padWidth = g.padWidth, strideHeight = g.strideHeight
            let paddedWidth = g.paddedPlaneWidth
            copyBordered(source, into: padded)
            let laneColumns = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &* Int32(truncatingIfNeeded: stride)
            for oh in 0..<outHeight {
                let top = oh * strideHeight  // padded row of the window's first row
                let firstRow = Swift.max(top - padHeight, 0)
                var ow = 0
                while ow < outWidth {
                    let left = ow * stride  // padded column of lane 0's first column
                    var best = SIMD8<Float>(repeating: -.infinity)
                    // Each lane's first element inside the input.
                    let firstColumns = pointwiseMax(
                        SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: left - padWidth)) &+ laneColumns, .zero)
                    var bestIndex = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: firstRow * width)) &+ firstColumns
                    for i in 0..<kernelHeight {
                        for kj in 0..<kernelWidth {
                            let values = Lanes.load(padded + (top + i) * paddedWidth + left + kj, stride: stride)
                            let index = (top + i - padHeight) * width + left + kj - padWidth
                            let wins = (values .> best) .| (values .!= values)
                            best.replace(with: values, where: wins)
                            bestIndex.replace(
                                with: SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: index)) &+ laneColumns,
                                where: wins)
                        }
                    }
                    store(best, bestIndex, count: Swift.min(8, outWidth - ow), at: oh * outWidth + ow, result, winners)
                    ow += 8
                }
            }
        }

        /// The first `count` lanes of a row's maxima and winners at output `at`: whole vectors
        /// where all lanes are outputs.
        @inline(__always)
        private func store<Values: SIMD, Indices: SIMD>(
            _ best: Values, _ bestIndex: Indices, count: Int, at: Int, _ result: UnsafeMutablePointer<Float>,
            _ winners: UnsafeMutablePointer<Int32>
        ) where Values.Scalar == Float, Indices.Scalar == Int32 {
            if count == Values.scalarCount {
                UnsafeMutableRawPointer(result + at).storeBytes(of: best, as: Values.self)
                UnsafeMutableRawPointer(winners + at).storeBytes(of: bestIndex, as: Indices.self)
                return
            }
            for lane in 0..<count {
                result[at + lane] = best[lane]
                winners[at + lane] = bestIndex[lane]
            }
        }

        /// `source` into the middle of a −inf plane of `paddedPlaneSize` floats at `padded`.
        @inline(__always)
        private func copyBordered(_ source: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
            let width = g.inWidth, padHeight = g.padHeight, padWidth = g.padWidth
            let paddedWidth = g.paddedPlaneWidth, paddedHeight = g.paddedPlaneHeight
            padded.update(repeating: -.infinity, count: paddedHeight * paddedWidth)
            for h in 0..<Swift.min(g.inHeight, paddedHeight - padHeight) {
                let columns = Swift.min(width, paddedWidth - padWidth)
                (padded + (h + padHeight) * paddedWidth + padWidth).update(from: source + h * width, count: columns)
            }
        }

        /// Stride-1 windows (GoogLeNet's 3x3 pooling in every inception block) in two passes
        /// over the bordered plane, 16 outputs at a time: each bordered row's kernelWidth-wide
        /// maxima and winners, then each output's best of kernelHeight such row results. A
        /// window's rows are shared by kernelHeight outputs, so this compares kernelHeight +
        /// kernelWidth times per output, not kernelHeight × kernelWidth. The winners are the
        /// window-by-window scan's: both keep the last NaN if there is one, else the first
        /// largest value in row-major order (a row's first largest, then the first row whose
        /// winner beats the rows before it); a window whose elements are all −inf keeps its
        /// first element inside the input.
        @inline(__always)
        private func maxOfStrideOneWindows(
            _ source: UnsafePointer<Float>, _ result: UnsafeMutablePointer<Float>,
            _ winners: UnsafeMutablePointer<Int32>, _ padded: UnsafeMutablePointer<Float>
        ) {
            let width = g.inWidth, outHeight = g.outHeight, outWidth = g.outWidth
            let kernelHeight = g.kernelHeight, kernelWidth = g.kernelWidth
            let padHeight = g.padHeight, padWidth = g.padWidth
            let paddedWidth = g.paddedPlaneWidth, paddedHeight = g.paddedPlaneHeight
            let rowStride = g.maxPoolingRowStride
            copyBordered(source, into: padded)
            let rowBest = padded + g.paddedPlaneSize + 16
            let rowWinners = UnsafeMutableRawPointer(rowBest + paddedHeight * rowStride)
            let lanes = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            @inline(__always) func int32(_ value: Int) -> SIMD16<Int32> {
                SIMD16<Int32>(repeating: Int32(truncatingIfNeeded: value))
            }
            for r in 0..<paddedHeight {
                let row = UnsafeRawPointer(padded + r * paddedWidth)
                // The plane index of bordered column 0 of this row (border cells never win).
                let rowStart = (r - padHeight) * width - padWidth
                var ow = 0
                while ow < outWidth {
                    var best = SIMD16<Float>(repeating: -.infinity)
                    var bestIndex = SIMD16<Int32>(repeating: -1)
                    for kj in 0..<kernelWidth {
                        let values = row.loadUnaligned(fromByteOffset: 4 * (ow + kj), as: SIMD16<Float>.self)
                        let wins = (values .> best) .| (values .!= values)
                        best.replace(with: values, where: wins)
                        bestIndex.replace(with: int32(rowStart + ow + kj) &+ lanes, where: wins)
                    }
                    let at = r * rowStride + ow
                    UnsafeMutableRawPointer(rowBest + at).storeBytes(of: best, as: SIMD16<Float>.self)
                    rowWinners.storeBytes(of: bestIndex, toByteOffset: 4 * at, as: SIMD16<Int32>.self)
                    ow += 16
                }
            }
            let bests = UnsafeRawPointer(rowBest), rowWinnersRead = UnsafeRawPointer(rowWinners)
            for oh in 0..<outHeight {
                let firstRow = Swift.max(oh - padHeight, 0)
                var ow = 0
                while ow < outWidth {
                    var best = SIMD16<Float>(repeating: -.infinity)
                    // Each lane's first element inside the input.
                    var bestIndex = int32(firstRow * width) &+ pointwiseMax(int32(ow - padWidth) &+ lanes, .zero)
                    for i in 0..<kernelHeight {
                        let at = 4 * ((oh + i) * rowStride + ow)
                        let values = bests.loadUnaligned(fromByteOffset: at, as: SIMD16<Float>.self)
                        let wins = (values .> best) .| (values .!= values)
                        best.replace(with: values, where: wins)
                        bestIndex.replace(
                            with: rowWinnersRead.loadUnaligned(fromByteOffset: at, as: SIMD16<Int32>.self), where: wins)
                    }
                    store(best, bestIndex, count: Swift.min(16, outWidth - ow), at: oh * outWidth + ow, result, winners)
                    ow += 16
                }
            }
        }

        /// Unpadded 2x2 stride-2 windows inside the input (the usual pooling), eight at a time
        /// in SIMD lanes, choosing by masks rather than branches (which element wins is
        /// unpredictable on real activations), in the general path's order and rule: a larger
        /// value or a NaN replaces the best so far.
        @inline(__always)
        private func maxOf2x2Windows(_ source: UnsafePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                                     _ winners: UnsafeMutablePointer<Int32>) {
            // Stride 2 and rows of 8 windows or more (`maxPoolingNeedsBorder` sends the rest to
            // the bordered path).
            let width = g.inWidth, outWidth = g.outWidth
            let lanes = outWidth / 8 * 8
            let raw = UnsafeRawPointer(source)
            for oh in 0..<g.outHeight {
                let top = oh * g.strideHeight * width
                /// Windows ow ..< ow + 8 of this row.
                @inline(__always) func eightWindows(_ ow: Int) {
                    let first = top + 2 * ow
                    let upper = raw.loadUnaligned(fromByteOffset: first * 4, as: SIMD16<Float>.self)
                    let lower = raw.loadUnaligned(fromByteOffset: (first + width) * 4, as: SIMD16<Float>.self)
                    let firstIndex = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: first))
                        &+ SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
                    var best = SIMD8<Float>(repeating: -.infinity), bestIndex = firstIndex
                    @inline(__always) func consider(_ values: SIMD8<Float>, _ offset: Int) {
                        let wins = (values .> best) .| (values .!= values)
                        best.replace(with: values, where: wins)
                        bestIndex.replace(with: firstIndex &+ Int32(truncatingIfNeeded: offset), where: wins)
                    }
                    consider(evenLanes(upper), 0)
                    consider(oddLanes(upper), 1)
                    consider(evenLanes(lower), width)
                    consider(oddLanes(lower), width + 1)
                    UnsafeMutableRawPointer(result + oh * outWidth + ow).storeBytes(of: best, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(winners + oh * outWidth + ow).storeBytes(of: bestIndex, as: SIMD8<Int32>.self)
                }
                var ow = 0
                while ow < lanes {
                    eightWindows(ow)
                    ow += 8
                }
                // The row ends with 8 windows overlapping the previous ones (the same values
                // written twice) rather than up to 7 scalar ones (LeNet's 28 → 14).
                if ow < outWidth { eightWindows(outWidth - 8) }
            }
        }
    }

    /// Eight windows' elements at `p`, `stride` apart.
    protocol WindowLanes {
        static func load(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float>
    }

    enum ContiguousLanes: WindowLanes {
        @inline(__always)
        static func load(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
        }
    }

    /// p[0, 2, …, 14] from p[0 ..< 8] and p[7 ..< 15].
    enum EveryOtherLanes: WindowLanes {
        @inline(__always)
        static func load(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
            let low = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
            let high = UnsafeRawPointer(p + 7).loadUnaligned(as: SIMD8<Float>.self)
            return SIMD8(low[0], low[2], low[4], low[6], high[1], high[3], high[5], high[7])
        }
    }

    enum StridedLanes: WindowLanes {
        @inline(__always)
        static func load(_ p: UnsafePointer<Float>, stride: Int) -> SIMD8<Float> {
            SIMD8(p[0], p[stride], p[2 * stride], p[3 * stride], p[4 * stride], p[5 * stride], p[6 * stride],
                  p[7 * stride])
        }
    }

    @inline(__always)
    static func evenLanes(_ v: SIMD16<Float>) -> SIMD8<Float> {
        SIMD8(v[0], v[2], v[4], v[6], v[8], v[10], v[12], v[14])
    }

    @inline(__always)
    static func oddLanes(_ v: SIMD16<Float>) -> SIMD8<Float> {
        SIMD8(v[1], v[3], v[5], v[7], v[9], v[11], v[13], v[15])
    }

    struct MaxBackward: ParallelBody {
        let g: PoolingGeometry, gradOutput: UnsafePointer<Float>
        let argmax: UnsafePointer<Int32>, gradInput: UnsafeMutablePointer<Float>

        func run(_ planes: Range<Int>) {
            let inPlane = g.inHeight * g.inWidth, outPlane = g.outHeight * g.outWidth
            for plane in planes {
                let gradSource = gradInput + plane * inPlane
                gradSource.update(repeating: 0, count: inPlane)
                let gradResult = gradOutput + plane * outPlane
                let winners = argmax + plane * outPlane
                for i in 0..<outPlane { gradSource[Int(winners[i])] += gradResult[i] }
            }
        }
    }

    struct AverageForward: ParallelBody {
        let g: PoolingGeometry, countIncludePad: Bool
        let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>

        func run(_ planes: Range<Int>) {
            let inPlane = g.inHeight * g.inWidth, outHeight = g.outHeight, outWidth = g.outWidth
            let outPlane = outHeight * outWidth, width = g.inWidth
            for plane in planes {
                let source = input + plane * inPlane
                let result = output + plane * outPlane
                for oh in 0..<outHeight {
                    for ow in 0..<outWidth {
                        let (rows, columns) = window(g, oh, ow)
                        var sum: Float = 0
                        for h in rows {
                            for w in columns { sum += source[h * width + w] }
                        }
                        result[oh * outWidth + ow] =
                            sum / divisor(g, countIncludePad: countIncludePad, oh, ow, rows: rows, columns: columns)
                    }
                }
            }
        }
    }

    struct AverageBackward: ParallelBody {
        let g: PoolingGeometry, countIncludePad: Bool
        let gradOutput: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>

        func run(_ planes: Range<Int>) {
            let inPlane = g.inHeight * g.inWidth, outHeight = g.outHeight, outWidth = g.outWidth
            let outPlane = outHeight * outWidth, width = g.inWidth
            for plane in planes {
                let gradSource = gradInput + plane * inPlane
                gradSource.update(repeating: 0, count: inPlane)
                let gradResult = gradOutput + plane * outPlane
                for oh in 0..<outHeight {
                    for ow in 0..<outWidth {
                        let (rows, columns) = window(g, oh, ow)
                        let share = gradResult[oh * outWidth + ow]
                            / divisor(g, countIncludePad: countIncludePad, oh, ow, rows: rows, columns: columns)
                        for h in rows {
                            for w in columns { gradSource[h * width + w] += share }
                        }
                    }
                }
            }
        }
    }
}
