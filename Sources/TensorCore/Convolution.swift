// 2-D convolution with PyTorch semantics (cross-correlation; NCHW input, weight
// [out, in/groups, kH, kW], bias [out], output [N, out, oH, oW]), lowered to GEMM over
// an im2col matrix.
//
// Images are processed in chunks: one image when its output plane is large, several side
// by side in one column matrix when it is small (a 5×5 → 1×1 layer would otherwise run
// GEMMs one column wide), and one band of output rows at a time when a single image's column
// matrix would outgrow the L2 cache (the stems: `bandRows`). Parallelism: with at least as
// many images as threads, each thread takes a contiguous run of images with its own scratch
// and runs single-threaded GEMMs (no synchronisation, best locality); with fewer images,
// chunks run in order and each GEMM uses all threads. The weight gradient sums per-thread partials in thread
// order, so a given thread count always gives bitwise the same result.

public enum Convolution {
    /// im2col columns, gathered gradients and weight-gradient partials, reused across calls.
    static let scratch = ScratchPool()

    /// Output pixels a chunk aims for: enough GEMM columns to fill whole 16-wide tiles.
    static let chunkColumns = 128

    /// A 1×1, stride-1, unpadded convolution reads the image itself as its column matrix.
    @inline(__always)
    static func isPointwise(_ g: ConvolutionGeometry) -> Bool {
        g.kernelHeight == 1 && g.kernelWidth == 1 && g.strideHeight == 1 && g.strideWidth == 1
            && g.padHeight == 0 && g.padWidth == 0
    }

    /// A kernel covering the whole unpadded input with one output pixel (LeNet-5's third
    /// convolution, 16×5×5 → 120): each image is one column of the column matrix as it lies,
    /// so the batch is a fully connected layer, [images × depth] times the weights' transpose.
    @inline(__always)
    static func isFullyConnected(_ g: ConvolutionGeometry) -> Bool {
        g.groups == 1 && g.outHeight == 1 && g.outWidth == 1 && g.padHeight == 0 && g.padWidth == 0
            && g.kernelHeight == g.inHeight && g.kernelWidth == g.inWidth
    }

    /// The per-call constants of the lowering.
    struct Lowering {
        let pixels: Int            // oH · oW
        let imageSize: Int         // in · H · W
        let resultSize: Int        // out · oH · oW
        let depth: Int             // rows of one group's column block: in/groups · kH · kW
        let filters: Int           // out/groups
        let pointwise: Bool
        /// `isFullyConnected`: products over the images as they lie, nothing lowered.
        let fullyConnected: Bool
        let chunk: Int             // images per column matrix
        /// Output rows lowered at a time: all of them, or a band (see `bandBytes`).
        let bandRows: Int
        let columnsSize: Int       // floats of one chunk's (or band's) column matrix
        let resultsSize: Int       // floats of one chunk's gathered [out, chunk·oH·oW] block
        let product: MatrixProduct
        /// Whether each image's result is rounded to bf16 once written (autocast's bf16 output),
        /// while it is still in cache, instead of in a pass of its own over the whole batch.
        let roundsResults: Bool
        /// Whether an input of bf16 bits is lowered as bits (the product packs them as they are)
        /// rather than widened to Float32 image by image.
        let lowersBits: Bool

        let outHeight: Int         // oH
        /// Whether each image is lowered band by band (then a chunk is one image).
        var isBanded: Bool { bandRows < outHeight }

        /// Floats of scratch per image that `Convolution.imageOperand` widens `input` into.
        func widenedSize(_ input: ConvolutionInput) -> Int {
            lowersBits ? 0 : input.widenedSize(imageSize: imageSize)
        }

        init(_ g: ConvolutionGeometry, product: MatrixProduct = .float32, roundsResults: Bool = false,
             input: ConvolutionInput? = nil) {
            outHeight = g.outHeight
            self.product = product
            self.roundsResults = roundsResults
            if case .bfloat16Bits = input { lowersBits = product.readsBFloat16Bits } else { lowersBits = false }
            pixels = g.outHeight * g.outWidth
            imageSize = g.inChannels * g.inHeight * g.inWidth
            resultSize = g.outChannels * pixels
            depth = g.inChannelsPerGroup * g.kernelHeight * g.kernelWidth
            filters = g.outChannelsPerGroup
            pointwise = isPointwise(g)
            fullyConnected = isFullyConnected(g)
            chunk = Swift.max(1, Swift.min(g.batch, (chunkColumns + pixels - 1) / pixels))
            bandRows = Convolution.bandRows(g, depth: depth, chunk: chunk)
            columnsSize = pointwise && chunk == 1 ? 0 : g.groups * depth * chunk * bandRows * g.outWidth
            resultsSize = chunk == 1 ? 0 : g.outChannels * chunk * pixels
        }
    }

    /// The column-matrix bytes a band of output rows aims for: about half a core's L2 cache,
    /// so the GEMM packs what im2col has just written from L2. A whole image's column matrix
    /// of a stem (ResNet's 7x7/2: 147 rows × 12,544 pixels, 7.4 MB; AlexNet's 11x11/4: 4.4 MB)
    /// went out to memory and back. Tests lower it (and the minimum) to band small images.
    nonisolated(unsafe) static var bandBytes = 512 * 1024

    /// The fewest output pixels a band may have: narrower products lose more to their edges
    /// than the cache saves.
    nonisolated(unsafe) static var bandMinimumPixels = 256

    /// Output rows per band for one image of `g`: all of them unless its column matrix is
    /// over twice `bandBytes` and a band of `bandBytes` still has `bandMinimumPixels`. Sized in
    /// Float32 even for bits columns: the bands set the weight gradient's order of summation,
    /// which must not depend on the input's element. Only for
    /// one image per chunk, one group, and geometries lowered row by row (not the
    /// `preservesWidth` block copy).
    static func bandRows(_ g: ConvolutionGeometry, depth: Int, chunk: Int) -> Int {
        let rowBytes = depth * g.outWidth * MemoryLayout<Float>.stride
        guard chunk == 1 && g.groups == 1 && !isPointwise(g) && !preservesWidth(g) && rowBytes > 0
            && rowBytes * g.outHeight > 2 * bandBytes
        else { return g.outHeight }
        let rows = Swift.max(1, bandBytes / rowBytes)
        return rows * g.outWidth >= bandMinimumPixels ? Swift.min(rows, g.outHeight) : g.outHeight
    }

    /// Calls `body(rows)` for each band of output rows, in order.
    @inline(__always)
    static func forEachBand(_ g: ConvolutionGeometry, _ l: Lowering, _ body: (Range<Int>) -> Void) {
        var first = 0
        while first < g.outHeight {
            let end = Swift.min(g.outHeight, first + l.bandRows)
            body(first..<end)
            first = end
        }
    }

    /// Runs `body` over contiguous runs of the batch: one run per thread when there are
    /// enough images, otherwise one run with multi-threaded GEMMs. Each run's scratch holds
    /// `count` floats private to it.
    static func forEachImageRun<Body: ImageRunBody>(_ g: ConvolutionGeometry, scratchCount count: Int, _ body: Body) {
        let threads = Swift.max(1, Parallel.threadCount)
        if threads > 1 && g.batch >= threads {
            Parallel.forEachRange(threads, ImageRuns(body: body, batch: g.batch, runs: threads, scratchCount: count))
        } else {
            scratch.withScratch(count) { body.run(worker: 0, images: 0..<g.batch, gemmThreads: threads, scratch: $0) }
        }
    }

    /// One run of images per worker, each with single-threaded GEMMs and its own scratch.
    struct ImageRuns<Body: ImageRunBody>: ParallelBody {
        let body: Body
        let batch: Int, runs: Int, scratchCount: Int

        func run(_ workers: Range<Int>) {
            for worker in workers {
                let images = (worker * batch / runs)..<((worker + 1) * batch / runs)
                scratch.withScratch(scratchCount) { body.run(worker: worker, images: images, gemmThreads: 1, scratch: $0) }
            }
        }
    }

    /// Number of runs `forEachImageRun` will make.
    static func imageRunCount(_ g: ConvolutionGeometry) -> Int {
        let threads = Swift.max(1, Parallel.threadCount)
        return threads > 1 && g.batch >= threads ? threads : 1
    }

    /// Splits `images` into chunks of at most `chunk` images.
    @inline(__always)
    static func forEachChunk(_ images: Range<Int>, _ chunk: Int, _ body: (Int, Int) -> Void) {
        var start = images.lowerBound
        while start < images.upperBound {
            let count = Swift.min(chunk, images.upperBound - start)
            body(start, count)
            start += count
        }
    }

    /// Image `index` as the product reads it: bf16 bits as they are where the lowering keeps
    /// them (`l.lowersBits`), otherwise Float32 (bits widened into `widened`, `l.widenedSize` floats).
    @inline(__always)
    static func imageOperand(_ l: Lowering, _ input: ConvolutionInput, _ index: Int,
                             widened: UnsafeMutablePointer<Float>) -> BFloat16GEMM.Operand {
        batchOperand(l, input, first: index) ?? .float32(input.image(index, imageSize: l.imageSize, widened: widened))
    }

    /// Images from `first` on as one [images × imageSize] operand where they lie: Float32
    /// values, or bits the product packs as they are (`l.lowersBits`); nil for bits it cannot.
    @inline(__always)
    static func batchOperand(_ l: Lowering, _ input: ConvolutionInput, first: Int) -> BFloat16GEMM.Operand? {
        switch input {
        case .float32(let values): return .float32(values + first * l.imageSize)
        case .bfloat16Bits(let bits):
            return l.lowersBits ? .bits(bits.assumingMemoryBound(to: UInt16.self) + first * l.imageSize) : nil
        case .normalized: return nil
        }
    }

    /// im2col of one image (or its `outputRows`) into the column matrix in `columns`, at column
    /// `offset` of rows `rowStride` apart, in the image's own element (bits rebind the Float
    /// scratch, two values a Float, as the bf16 GEMM's packed scratch does); returns the matrix.
    @inline(__always)
    static func lowerImage(_ g: ConvolutionGeometry, _ image: BFloat16GEMM.Operand,
                           into columns: UnsafeMutablePointer<Float>, offset: Int = 0, rowStride: Int,
                           outputRows: Range<Int>? = nil) -> BFloat16GEMM.Operand {
        switch image {
        case .float32(let values):
            im2col(g, image: values, columns: columns + offset, rowStride: rowStride, outputRows: outputRows)
            return .float32(columns)
        case .bits(let bits):
            let target = UnsafeMutableRawPointer(columns).bindMemory(
                to: UInt16.self, capacity: g.inChannels * g.kernelHeight * g.kernelWidth * rowStride)
            im2col(g, image: bits, columns: target + offset, rowStride: rowStride, outputRows: outputRows)
            return .bits(target)
        }
    }

    /// Lowers images start ..< start+count side by side into `columns`, or returns the
    /// image itself when a single pointwise image needs no lowering. An image of bf16 bits is
    /// lowered as bits (`l.lowersBits`) or widened into `widened` first (`l.widenedSize` floats).
    @inline(__always)
    static func lower(_ g: ConvolutionGeometry, _ l: Lowering, input: ConvolutionInput, start: Int, count: Int,
                      columns: UnsafeMutablePointer<Float>, widened: UnsafeMutablePointer<Float>)
        -> BFloat16GEMM.Operand
    {
        if l.pointwise && count == 1 { return imageOperand(l, input, start, widened: widened) }
        var lowered = BFloat16GEMM.Operand.float32(columns)
        for i in 0..<count {
            // The same matrix each time (the kind follows the input).
            lowered = lowerImage(g, imageOperand(l, input, start + i, widened: widened), into: columns,
                                 offset: i * l.pixels, rowStride: count * l.pixels)
        }
        return lowered
    }

    /// The output gradient of images start ..< start+count as one [out, count·oH·oW] matrix:
    /// the image's own block for a single image, else gathered into `results`.
    @inline(__always)
    static func gatherResults(_ g: ConvolutionGeometry, _ l: Lowering, gradOutput: UnsafePointer<Float>, start: Int,
                              count: Int, results: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if count == 1 { return gradOutput + start * l.resultSize }
        let width = count * l.pixels
        for i in 0..<count {
            let image = gradOutput + (start + i) * l.resultSize
            for channel in 0..<g.outChannels {
                copyRow(from: image + channel * l.pixels, to: results + channel * width + i * l.pixels, count: l.pixels)
            }
        }
        return UnsafePointer(results)
    }

    /// output = conv(input, weight) + bias, rounded to bf16 with `roundsOutput`.
    public static func forward(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               algorithm: ConvolutionAlgorithm? = nil, product: MatrixProduct = .float32,
                               roundsOutput: Bool = false) {
        switch resolve(algorithm, g, .forward, product) {
        case .direct:
            DirectConvolution.forward(g, input: .float32(input), weight: weight, bias: bias, output: .float32(output),
                                      roundsOutput: roundsOutput)
            return
        case .winograd:
            WinogradConvolution.forward(g, input: input, weight: weight, bias: bias, output: output)
        case .winograd4x4:
            WinogradConvolution.forward(g, input: input, weight: weight, bias: bias, output: output, outputTile: 4)
        case .gemm:
            forwardLowered(g, input: input, weight: weight, bias: bias, output: output, product: product,
                           roundsOutput: roundsOutput)
            return
        }
        if roundsOutput { BFloat16Rounding.roundInParallel(output, into: output, count: g.outputCount) }
    }

    /// output = conv(input, weight) + bias in Float32 from any `ConvolutionInput`. A batch norm's
    /// output is normalised where each kernel reads it: the lowered path image by image, the
    /// direct kernel row by row, Winograd in its input transform.
    public static func forward(_ g: ConvolutionGeometry, input: ConvolutionInput, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               algorithm: ConvolutionAlgorithm? = nil) {
        let chosen = resolve(algorithm, g, .forward)
        switch (chosen, input) {
        case (.gemm, _):
            forwardLowered(g, input: input, weight: weight, bias: bias, output: .float32(output), product: .float32,
                           roundsOutput: false)
        case (.direct, _):
            DirectConvolution.forward(g, input: input, weight: weight, bias: bias, output: .float32(output))
        case (.winograd, .normalized(let normalization)), (.winograd4x4, .normalized(let normalization)):
            WinogradConvolution.forward(g, input: normalization, weight: weight, bias: bias, output: output,
                                        outputTile: chosen == .winograd4x4 ? 4 : 2)
        case (.winograd, _), (.winograd4x4, _):
            input.withFloat32(count: g.inputCount) { x in
                forward(g, input: x, weight: weight, bias: bias, output: output, algorithm: chosen)
            }
        }
    }

    /// A bf16 layer's forward pass: output = conv(input, weight) + bias rounded to bf16 (ties to
    /// even), from Float32 values or bf16 bits, as Float32 values or as bf16 bits (2 bytes a
    /// value, an output kept at its own size). The lowered path lowers input bits as bits where
    /// the product packs them (AMX, AVX512-BF16; otherwise it widens each image) and converts
    /// each image's result while it is in cache; so does the direct kernel, which widens the
    /// bits as it pads each image. The Winograd kernels go through staging copies of the whole
    /// input and output.
    public static func forward(_ g: ConvolutionGeometry, input: ConvolutionInput, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: ConvolutionOutput,
                               algorithm: ConvolutionAlgorithm? = nil, product: MatrixProduct = .float32) {
        let chosen = resolve(algorithm, g, .forward, product)
        let destination: ForwardDestination
        switch output {
        case .roundedToBFloat16(let values): destination = .float32(values)
        case .bfloat16Bits(let bits): destination = .bfloat16Bits(bits)
        }
        switch chosen {
        case .gemm:
            forwardLowered(g, input: input, weight: weight, bias: bias, output: destination, product: product,
                           roundsOutput: true)
            return
        case .direct:
            DirectConvolution.forward(g, input: input, weight: weight, bias: bias, output: destination,
                                      roundsOutput: true)
            return
        case .winograd, .winograd4x4: break
        }
        input.withFloat32(count: g.inputCount) { x in
            switch output {
            case .roundedToBFloat16(let y):
                forward(g, input: x, weight: weight, bias: bias, output: y, algorithm: chosen, product: product,
                        roundsOutput: true)
            case .bfloat16Bits(let bits):
                StagingBuffer.output.withBuffer(g.outputCount) { staging in
                    forward(g, input: x, weight: weight, bias: bias, output: staging, algorithm: chosen,
                            product: product)
                    BFloat16Rounding.convertInParallel(staging, intoBits: bits, count: g.outputCount)
                }
            }
        }
    }

    /// Where a forward pass writes its result.
    enum ForwardDestination {
        case float32(UnsafeMutablePointer<Float>)
        /// bf16 bits, value i at byte 2·i.
        case bfloat16Bits(UnsafeMutableRawPointer)
    }

    static func forwardLowered(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                               product: MatrixProduct, roundsOutput: Bool) {
        forwardLowered(g, input: .float32(input), weight: weight, bias: bias, output: .float32(output),
                       product: product, roundsOutput: roundsOutput)
    }

    static func forwardLowered(_ g: ConvolutionGeometry, input: ConvolutionInput, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: ForwardDestination,
                               product: MatrixProduct, roundsOutput: Bool) {
        let l = Lowering(g, product: product, roundsResults: roundsOutput, input: input)
        // A bf16 destination takes even a single image's result through the scratch.
        var resultScratch = l.resultsSize
        if case .bfloat16Bits = output { resultScratch = Swift.max(resultScratch, l.resultSize) }
        let widenedOffset = l.columnsSize + resultScratch
        withPackedWeights(g, l, weight, transposed: false) { packedWeights in
            forEachImageRun(g, scratchCount: widenedOffset + l.widenedSize(input),
                            ForwardRun(g: g, l: l, input: input, weight: weight, packedWeights: packedWeights,
                                       bias: bias, output: output, widenedOffset: widenedOffset))
        }
    }

    /// gradInput = ∂loss/∂input (overwritten), rounded to bf16 with `roundsGradInput`.
    public static func backwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                     algorithm: ConvolutionAlgorithm? = nil, product: MatrixProduct = .float32,
                                     roundsGradInput: Bool = false) {
        switch resolve(algorithm, g, .inputGradient, product) {
        case .direct:
            DirectConvolution.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
        case .winograd:
            WinogradConvolution.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput)
        case .winograd4x4:
            WinogradConvolution.backwardInput(
                g, gradOutput: gradOutput, weight: weight, gradInput: gradInput, outputTile: 4)
        case .gemm:
            backwardInputLowered(g, gradOutput: gradOutput, weight: weight, gradInput: gradInput, product: product,
                                 roundsGradInput: roundsGradInput)
            return
        }
        if roundsGradInput { BFloat16Rounding.roundInParallel(gradInput, into: gradInput, count: g.inputCount) }
    }

    static func backwardInputLowered(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
                                     product: MatrixProduct, roundsGradInput: Bool) {
        let l = Lowering(g, product: product, roundsResults: roundsGradInput)
        withPackedWeights(g, l, weight, transposed: true) { packedWeights in
            forEachImageRun(g, scratchCount: l.columnsSize + l.resultsSize,
                            InputGradientRun(g: g, l: l, gradOutput: gradOutput, weight: weight,
                                             packedWeights: packedWeights, gradInput: gradInput))
        }
    }

    /// gradWeight (and gradBias) = ∂loss/∂weight summed over the batch (overwritten).
    ///
    /// The GEMM computes the transposed gradient, gradWᵀ [depth × filters] per group: the
    /// column matrix is then op(A) (tall, packed in whole 8-row panels) and the short
    /// output-gradient rows are op(B) (16 filters fill one register tile exactly), instead of
    /// a few-row A against a transposed column matrix. A final pass transposes into gradWeight.
    public static func backwardWeight(_ g: ConvolutionGeometry, input: UnsafePointer<Float>,
                                      gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                      gradBias: UnsafeMutablePointer<Float>?, algorithm: ConvolutionAlgorithm? = nil,
                                      product: MatrixProduct = .float32) {
        backwardWeight(g, input: .float32(input), gradOutput: gradOutput, gradWeight: gradWeight, gradBias: gradBias,
                       algorithm: algorithm, product: product)
    }

    /// `backwardWeight` from Float32 values, bf16 bits or a normalised input (see `ConvolutionInput`).
    public static func backwardWeight(_ g: ConvolutionGeometry, input source: ConvolutionInput,
                                      gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                      gradBias: UnsafeMutablePointer<Float>?, algorithm: ConvolutionAlgorithm? = nil,
                                      product: MatrixProduct = .float32) {
        let chosen = resolve(algorithm, g, .weightGradient, product)
        switch chosen {
        case .direct:
            DirectConvolution.backwardWeight(g, input: source, gradOutput: gradOutput, gradWeight: gradWeight,
                                             gradBias: gradBias)
            return
        case .winograd, .winograd4x4:
            let outputTile = chosen == .winograd4x4 ? 4 : 2
            if case .normalized(let normalization) = source {
                // The input transform normalises what it reads.
                WinogradConvolution.backwardWeight(g, input: normalization, gradOutput: gradOutput,
                                                   gradWeight: gradWeight, gradBias: gradBias, outputTile: outputTile)
                return
            }
            // Winograd reads the whole input: bits widened into a staging copy.
            source.withFloat32(count: g.inputCount) { input in
                WinogradConvolution.backwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: gradWeight,
                                                   gradBias: gradBias, outputTile: outputTile)
            }
            return
        case .gemm: break
        }
        let l = Lowering(g, product: product, input: source)
        let runScratch = l.columnsSize + l.resultsSize + l.widenedSize(source)
        sumWeightGradientsOverRuns(g, runScratch: runScratch, gradWeight: gradWeight,
                                   gradBias: gradBias) { partials, stride in
            WeightGradientRun(g: g, l: l, input: source, gradOutput: gradOutput, partials: partials, stride: stride,
                              withBias: gradBias != nil)
        }
    }

    /// Runs the body `makeRun(partials, stride)` once per run of images; run w writes its partial
    /// [gradWᵀ (per group depth × filters) | gradBias] at partials + w·stride. The partials are
    /// then summed in run order (reproducible bits) and transposed into gradWeight and gradBias.
    @inline(__always)
    static func sumWeightGradientsOverRuns<Body: ImageRunBody>(
        _ g: ConvolutionGeometry, runScratch: Int, gradWeight: UnsafeMutablePointer<Float>,
        gradBias: UnsafeMutablePointer<Float>?, _ makeRun: (UnsafeMutablePointer<Float>, Int) -> Body
    ) {
        let runs = imageRunCount(g)
        let weightCount = g.weightCount, stride = weightCount + g.outChannels
        scratch.withScratch(runs * stride) { partials in
            forEachImageRun(g, scratchCount: runScratch, makeRun(partials, stride))
            let sums = SumWeightGradients(l: Lowering(g), partials: partials, runs: runs, stride: stride,
                                          gradWeight: gradWeight)
            Parallel.forEachRange(g.groups * sums.rowBlocks, minimumChunk: Swift.max(1, (1 << 14) / sums.blockValues),
                                  sums)
            if let gradBias {
                for channel in 0..<g.outChannels {
                    var sum = partials[weightCount + channel]
                    for run in 1..<runs { sum += partials[run * stride + weightCount + channel] }
                    gradBias[channel] = sum
                }
            }
        }
    }

    /// Writes the gradient summed over `images` (chunk by chunk, in order) to
    /// gradWeightTransposed (per group [depth × filters]) and gradBias. `buffer` holds the
    /// columns, the gathered output gradient, and an image widened from bf16 bits (or normalised),
    /// in that order.
    static func accumulateWeightGradient(_ g: ConvolutionGeometry, _ l: Lowering, images: Range<Int>,
                                         input: ConvolutionInput, gradOutput: UnsafePointer<Float>,
                                         gradWeightTransposed: UnsafeMutablePointer<Float>,
                                         gradBias: UnsafeMutablePointer<Float>?,
                                         gemmThreads: Int, scratch buffer: UnsafeMutablePointer<Float>) {
        if images.isEmpty {
            gradWeightTransposed.update(repeating: 0, count: g.weightCount)
            gradBias?.update(repeating: 0, count: g.outChannels)
            return
        }
        let widened = buffer + l.columnsSize + l.resultsSize
        let batch = l.fullyConnected ? batchOperand(l, input, first: 0) : nil
        forEachChunk(images, l.chunk) { start, count in
            let first = start == images.lowerBound
            let width = count * l.pixels
            let gradResults = gatherResults(g, l, gradOutput: gradOutput, start: start, count: count,
                                            results: buffer + l.columnsSize)
            if let batch {
                // gradWᵀ [depth × filters] (+)= xᵀ [depth × images] · dy [images × filters]: the
                // images as they lie are the column matrix, summed in the lowered order.
                l.product.multiply(transposeA: true, transposeB: false, m: l.depth, n: l.filters, k: count,
                                   a: batch + start * l.imageSize, lda: l.depth,
                                   b: .float32(gradOutput + start * l.resultSize), ldb: l.filters,
                                   beta: first ? 0 : 1, c: gradWeightTransposed, ldc: l.filters, threads: gemmThreads)
            } else if l.isBanded {
                let image = imageOperand(l, input, start, widened: widened)
                forEachBand(g, l) { rows in
                    // gradWᵀ [depth × filters] += the band's columns [depth × band] · its gradOutᵀ
                    let band = rows.count * g.outWidth
                    let columns = lowerImage(g, image, into: buffer, rowStride: band, outputRows: rows)
                    l.product.multiply(transposeA: false, transposeB: true, m: l.depth, n: l.filters, k: band,
                                      a: columns, lda: band, b: .float32(gradResults + rows.lowerBound * g.outWidth),
                                      ldb: l.pixels, beta: first && rows.lowerBound == 0 ? 0 : 1,
                                      c: gradWeightTransposed, ldc: l.filters, threads: gemmThreads)
                }
            } else {
                let columns = lower(g, l, input: input, start: start, count: count, columns: buffer,
                                    widened: widened)
                for group in 0..<g.groups {
                    // gradW_gᵀ [depth × filters] += columns_g [depth × width] · gradOut_gᵀ [width × filters]
                    l.product.multiply(transposeA: false, transposeB: true, m: l.depth, n: l.filters, k: width,
                                      a: columns + group * l.depth * width, lda: width,
                                      b: .float32(gradResults + group * l.filters * width), ldb: width,
                                      beta: first ? 0 : 1, c: gradWeightTransposed + group * l.filters * l.depth,
                                      ldc: l.filters, threads: gemmThreads)
                }
            }
            if let gradBias {
                for channel in 0..<g.outChannels {
                    let sum = Reduction.sum(gradResults + channel * width, count: width)
                    gradBias[channel] = first ? Float(sum) : gradBias[channel] + Float(sum)
                }
            }
        }
    }

    // The loop bodies (see ParallelBody).

    struct ForwardRun: ImageRunBody {
        let g: ConvolutionGeometry, l: Lowering
        let input: ConvolutionInput, weight: UnsafePointer<Float>, packedWeights: PackedWeights?
        let bias: UnsafePointer<Float>?
        let output: ForwardDestination
        /// Where in the scratch an image widened from bf16 bits (or normalised) goes (after columns
        /// and results).
        let widenedOffset: Int

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch buffer: UnsafeMutablePointer<Float>) {
            if l.fullyConnected, case .float32(let values) = output, !images.isEmpty,
               let x = batchOperand(l, input, first: images.lowerBound)
            {
                // out [images × filters] = x [images × depth] · Wᵀ: each value the same chain
                // over the depth as the lowered product's, written where the output lies.
                let result = values + images.lowerBound * l.resultSize
                l.product.multiply(transposeA: false, transposeB: true, m: images.count, n: l.filters, k: l.depth,
                                   a: x, lda: l.depth, b: .float32(weight), ldb: l.depth, c: result, ldc: l.filters,
                                   threads: gemmThreads)
                finishFullyConnected(result, images: images.count)
                return
            }
            forEachChunk(images, l.chunk) { start, count in
                let width = count * l.pixels
                // A single image's result goes straight to a Float32 output; a chunk's, or one for
                // bf16 bits, is scattered (and converted) after.
                var result = buffer + l.columnsSize
                if count == 1, case .float32(let values) = output { result = values + start * l.resultSize }
                if l.isBanded {
                    multiplyBands(image: start, result: result, gemmThreads: gemmThreads, columns: buffer,
                                  widened: buffer + widenedOffset)
                    finish(start: start, count: count, result: result)
                    return
                }
                let columns = lower(g, l, input: input, start: start, count: count, columns: buffer,
                                    widened: buffer + widenedOffset)
                if let packedWeights {
                    packedWeights.multiply(
                        n: width, b: columns, ldb: width, c: result, ldc: width, threads: gemmThreads)
                }
                for group in 0..<g.groups where packedWeights == nil {
                    // out_g [filters × width] = W_g [filters × depth] · columns_g [depth × width]
                    l.product.multiply(transposeA: false, transposeB: false, m: l.filters, n: width, k: l.depth,
                                      a: .float32(weight + group * l.filters * l.depth), lda: l.depth,
                                      b: columns + group * l.depth * width, ldb: width,
                                      c: result + group * l.filters * width, ldc: width, threads: gemmThreads)
                }
                finish(start: start, count: count, result: result)
            }
        }

        /// One image's result [out, oH·oW], band by band: each band's rows lowered into
        /// `columns`, then multiplied into the result's columns for those pixels.
        func multiplyBands(image index: Int, result: UnsafeMutablePointer<Float>, gemmThreads: Int,
                           columns: UnsafeMutablePointer<Float>, widened: UnsafeMutablePointer<Float>) {
            let image = imageOperand(l, input, index, widened: widened)
            forEachBand(g, l) { rows in
                let width = rows.count * g.outWidth
                let lowered = lowerImage(g, image, into: columns, rowStride: width, outputRows: rows)
                let c = result + rows.lowerBound * g.outWidth
                if let packedWeights {
                    packedWeights.multiply(n: width, b: lowered, ldb: width, c: c, ldc: l.pixels, threads: gemmThreads)
                } else {
                    l.product.multiply(transposeA: false, transposeB: false, m: l.filters, n: width, k: l.depth,
                                       a: .float32(weight), lda: l.depth, b: lowered, ldb: width, c: c,
                                       ldc: l.pixels, threads: gemmThreads)
                }
            }
        }

        /// Adds the bias to a fully connected result [images × filters] and rounds it (bf16).
        func finishFullyConnected(_ result: UnsafeMutablePointer<Float>, images: Int) {
            for i in 0..<images {
                let row = result + i * l.filters
                if let bias { for f in 0..<l.filters { row[f] += bias[f] } }
            }
            if l.roundsResults { BFloat16Rounding.roundInPlace(result, count: images * l.filters) }
        }

        /// Scatters a chunk's result into the output, adds the bias and rounds (bf16).
        func finish(start: Int, count: Int, result: UnsafeMutablePointer<Float>) {
            guard case .float32(let output) = output else {
                if case .bfloat16Bits(let bits) = output { finish(start: start, count: count, result: result, bits) }
                return
            }
            let width = count * l.pixels
            for i in 0..<count {
                let image = output + (start + i) * l.resultSize
                for channel in 0..<g.outChannels {
                    let plane = image + channel * l.pixels
                    if count > 1 { copyRow(from: result + channel * width + i * l.pixels, to: plane, count: l.pixels) }
                    if let bias {
                        let b = bias[channel]
                        for p in 0..<l.pixels { plane[p] += b }
                    }
                }
                if l.roundsResults { BFloat16Rounding.roundInPlace(image, count: l.resultSize) }
            }
        }

        /// Adds the bias to a chunk's result (in the scratch) and writes it as bf16 bits.
        func finish(start: Int, count: Int, result: UnsafeMutablePointer<Float>, _ bits: UnsafeMutableRawPointer) {
            let width = count * l.pixels
            for i in 0..<count {
                for channel in 0..<g.outChannels {
                    let plane = result + channel * width + i * l.pixels
                    if let bias {
                        let b = bias[channel]
                        for p in 0..<l.pixels { plane[p] += b }
                    }
                    let target = ((start + i) * l.resultSize + channel * l.pixels) * MemoryLayout<UInt16>.stride
                    BFloat16Rounding.convert(plane, intoBits: bits + target, count: l.pixels)
                }
            }
        }
    }

    struct InputGradientRun: ImageRunBody {
        let g: ConvolutionGeometry, l: Lowering
        let gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>, packedWeights: PackedWeights?
        let gradInput: UnsafeMutablePointer<Float>

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch buffer: UnsafeMutablePointer<Float>) {
            if l.fullyConnected && !images.isEmpty {
                // dx [images × depth] = dy [images × filters] · W, straight into the images.
                let result = gradInput + images.lowerBound * l.imageSize
                l.product.multiply(transposeA: false, transposeB: false, m: images.count, n: l.depth, k: l.filters,
                                   a: .float32(gradOutput + images.lowerBound * l.resultSize), lda: l.filters,
                                   b: .float32(weight), ldb: l.depth, c: result, ldc: l.depth, threads: gemmThreads)
                if l.roundsResults { BFloat16Rounding.roundInPlace(result, count: images.count * l.imageSize) }
                return
            }
            forEachChunk(images, l.chunk) { start, count in
                let width = count * l.pixels
                let gradResults = gatherResults(g, l, gradOutput: gradOutput, start: start, count: count,
                                                results: buffer + l.columnsSize)
                if l.isBanded {
                    multiplyBands(image: start, gradResults: gradResults, gemmThreads: gemmThreads, columns: buffer)
                    return
                }
                // A single pointwise image: the column gradient is the image gradient itself.
                let direct = l.pointwise && count == 1
                let columns = direct ? gradInput + start * l.imageSize : buffer
                if let packedWeights {
                    packedWeights.multiply(
                        n: width, b: gradResults, ldb: width, c: columns, ldc: width, threads: gemmThreads)
                }
                for group in 0..<g.groups where packedWeights == nil {
                    // columns_g [depth × width] = W_gᵀ [depth × filters] · gradOut_g [filters × width]
                    l.product.multiply(transposeA: true, transposeB: false, m: l.depth, n: width, k: l.filters,
                                      a: weight + group * l.filters * l.depth, lda: l.depth,
                                      b: gradResults + group * l.filters * width, ldb: width,
                                      c: columns + group * l.depth * width, ldc: width, threads: gemmThreads)
                }
                for i in 0..<count {
                    let gradImage = gradInput + (start + i) * l.imageSize
                    if !direct {
                        gradImage.update(repeating: 0, count: l.imageSize)
                        col2im(g, columns: buffer + i * l.pixels, rowStride: width, image: gradImage)
                    }
                    if l.roundsResults { BFloat16Rounding.roundInPlace(gradImage, count: l.imageSize) }
                }
            }
        }

        /// One image's input gradient, band by band: each band's column gradient (Wᵀ times the
        /// band's output-gradient columns) added onto the zeroed image.
        func multiplyBands(image: Int, gradResults: UnsafePointer<Float>, gemmThreads: Int,
                           columns: UnsafeMutablePointer<Float>) {
            let gradImage = gradInput + image * l.imageSize
            gradImage.update(repeating: 0, count: l.imageSize)
            forEachBand(g, l) { rows in
                let width = rows.count * g.outWidth
                let b = gradResults + rows.lowerBound * g.outWidth
                if let packedWeights {
                    packedWeights.multiply(n: width, b: b, ldb: l.pixels, c: columns, ldc: width, threads: gemmThreads)
                } else {
                    l.product.multiply(transposeA: true, transposeB: false, m: l.depth, n: width, k: l.filters,
                                       a: weight, lda: l.depth, b: b, ldb: l.pixels, c: columns, ldc: width,
                                       threads: gemmThreads)
                }
                col2im(g, columns: columns, rowStride: width, image: gradImage, outputRows: rows)
            }
            if l.roundsResults { BFloat16Rounding.roundInPlace(gradImage, count: l.imageSize) }
        }
    }

    /// Each run writes its own partial [transposed weight gradient | bias gradient].
    struct WeightGradientRun: ImageRunBody {
        let g: ConvolutionGeometry, l: Lowering
        let input: ConvolutionInput, gradOutput: UnsafePointer<Float>
        let partials: UnsafeMutablePointer<Float>, stride: Int, withBias: Bool

        func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch buffer: UnsafeMutablePointer<Float>) {
            let partial = partials + worker * stride
            accumulateWeightGradient(g, l, images: images, input: input, gradOutput: gradOutput,
                                     gradWeightTransposed: partial, gradBias: withBias ? partial + g.weightCount : nil,
                                     gemmThreads: gemmThreads, scratch: buffer)
        }
    }

    /// Sums the runs' partials in run order and transposes them into gradWeight, by blocks of 16
    /// depth rows × 16 filters of one group, so that both the reads (rows of gradWᵀ) and the
    /// writes (rows of gradWeight) stay within a few cache lines (element by element, the
    /// writes strode `depth` floats apart and the index arithmetic divided twice per element:
    /// 2 % of a ResNet-50 step).
    struct SumWeightGradients: ParallelBody {
        let l: Lowering
        let partials: UnsafeMutablePointer<Float>, runs: Int, stride: Int
        let gradWeight: UnsafeMutablePointer<Float>
        static let side = 16

        /// Blocks of `side` depth rows per group, and the values of one.
        var rowBlocks: Int { (l.depth + Self.side - 1) / Self.side }
        var blockValues: Int { Self.side * l.filters }

        func run(_ range: Range<Int>) {
            let filters = l.filters, depth = l.depth, groupSize = l.filters * l.depth
            for block in range {
                let group = block / rowBlocks, firstRow = (block % rowBlocks) * Self.side
                let rows = firstRow..<Swift.min(depth, firstRow + Self.side)
                let base = group * groupSize
                var firstFilter = 0
                while firstFilter < filters {
                    let endFilter = Swift.min(filters, firstFilter + Self.side)
                    for f in firstFilter..<endFilter {
                        for d in rows {
                            // Partial index group·depth·filters + d·filters + f → (group·filters + f)·depth + d
                            let i = base + d * filters + f
                            var sum = partials[i]
                            for run in 1..<runs { sum += partials[run * stride + i] }
                            gradWeight[base + f * depth + d] = sum
                        }
                    }
                    firstFilter = endFilter
                }
            }
        }
    }
}

/// The work of one run of images in a convolution (see `Convolution.forEachImageRun`).
protocol ImageRunBody {
    func run(worker: Int, images: Range<Int>, gemmThreads: Int, scratch: UnsafeMutablePointer<Float>)
}
