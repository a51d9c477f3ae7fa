// The sizes of one 2-D pooling, validated once. Output size follows PyTorch, ceil_mode
// included: with ceil_mode the last window must still start inside the input or the left
// padding, so a window lying wholly in the right padding is dropped.

public struct PoolingGeometry: Equatable, Sendable, CustomStringConvertible {
    public var batch, channels, inHeight, inWidth: Int
    public var kernelHeight, kernelWidth, strideHeight, strideWidth, padHeight, padWidth: Int
    public var ceilMode: Bool

    /// Throws `TensorCoreError.invalidGeometry` when a size or stride is not positive,
    /// padding is negative or more than half the kernel (PyTorch's rule), or the output
    /// would be empty.
    public init(batch: Int, channels: Int, inHeight: Int, inWidth: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int, strideWidth: Int,
                padHeight: Int = 0, padWidth: Int = 0, ceilMode: Bool = false) throws {
        self.batch = batch
        self.channels = channels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.padHeight = padHeight
        self.padWidth = padWidth
        self.ceilMode = ceilMode

        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw TensorCoreError.invalidGeometry(message()) }
        }
        try require(batch > 0 && channels > 0, "batch and channels must be positive, got \(batch) and \(channels)")
        try require(inHeight > 0 && inWidth > 0, "input size must be positive, got \(inHeight)x\(inWidth)")
        try require(kernelHeight > 0 && kernelWidth > 0,
                    "pooling kernel must be positive, got \(kernelHeight)x\(kernelWidth)")
        try require(strideHeight > 0 && strideWidth > 0,
                    "pooling stride must be positive, got \(strideHeight)x\(strideWidth)")
        try require(padHeight >= 0 && padWidth >= 0, "padding must not be negative, got \(padHeight)x\(padWidth)")
        try require(padHeight <= kernelHeight / 2 && padWidth <= kernelWidth / 2,
                    "padding \(padHeight)x\(padWidth) must be at most half the kernel \(kernelHeight)x\(kernelWidth)")
        try require(outHeight > 0 && outWidth > 0,
                    "pooling kernel \(kernelHeight)x\(kernelWidth) (padding \(padHeight)x\(padWidth)) "
                        + "does not fit the input \(inHeight)x\(inWidth): output would be \(outHeight)x\(outWidth)")
    }

    public var outHeight: Int {
        Self.outputSize(input: inHeight, kernel: kernelHeight, stride: strideHeight, padding: padHeight, ceilMode: ceilMode)
    }
    public var outWidth: Int {
        Self.outputSize(input: inWidth, kernel: kernelWidth, stride: strideWidth, padding: padWidth, ceilMode: ceilMode)
    }

    public var inputCount: Int { batch * channels * inHeight * inWidth }
    public var outputCount: Int { batch * channels * outHeight * outWidth }

    /// PyTorch's pooling_output_shape (dilation 1).
    static func outputSize(input: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
        let span = input + 2 * padding - kernel + (ceilMode ? stride - 1 : 0)
        // Floor division that is also right for a negative span (kernel larger than the input).
        var size = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1
        if ceilMode && (size - 1) * stride >= input + padding { size -= 1 }
        return size
    }

    public var description: String {
        "pool kernel \(kernelHeight)x\(kernelWidth) stride \(strideHeight)x\(strideWidth) "
            + "padding \(padHeight)x\(padWidth)\(ceilMode ? " ceil" : "") on "
            + "[\(batch), \(channels), \(inHeight), \(inWidth)] → [\(batch), \(channels), \(outHeight), \(outWidth)]"
    }

    /// Whether max pooling copies each plane into a bordered buffer: all but unpadded 2x2
    /// stride-2 windows inside the input with rows of at least 8 outputs (VGG's, LeNet's
    /// first), which an unrolled loop takes as they are, 8 windows at a time. Shorter rows had
    /// only that loop's scalar tail: GoogLeNet's 2x2 pooling of 14x14 planes ran 4.4 ms of a
    /// batch-16 step forward, as long as a 28x28 3x3 pooling of 2.4 times the outputs.
    var maxPoolingNeedsBorder: Bool {
        let unclipped = padHeight == 0 && padWidth == 0
            && (outHeight - 1) * strideHeight + kernelHeight <= inHeight
            && (outWidth - 1) * strideWidth + kernelWidth <= inWidth
        return !(unclipped && kernelHeight == 2 && kernelWidth == 2 && strideWidth == 2 && outWidth >= 8)
    }

    /// The scratch floats max pooling needs per thread for a bordered plane, and with stride 1
    /// for its rows' maxima and winners (`maxPoolingRowStride` per bordered row, each) after 16
    /// floats that the 16-lane loads of the plane's last row may read past it.
    var maxPoolingBorderScratch: Int {
        guard maxPoolingNeedsBorder else { return 0 }
        guard maxPoolingRunsRowsFirst else { return paddedPlaneSize }
        return paddedPlaneSize + 16 + 2 * paddedPlaneHeight * maxPoolingRowStride
    }

    /// Whether max pooling takes each row's maxima first, then the maxima over rows (stride 1).
    var maxPoolingRunsRowsFirst: Bool { strideHeight == 1 && strideWidth == 1 }

    /// Outputs per row of the row maxima: whole groups of 16.
    var maxPoolingRowStride: Int { (outWidth + 15) / 16 * 16 }

    /// The rows of a plane bordered for max pooling: every window row, padding and ceil mode's
    /// overhang included.
    var paddedPlaneHeight: Int { (outHeight - 1) * strideHeight + kernelHeight }
    /// The columns of a bordered plane: every window of the output rounded up to groups of
    /// eight (the stride-2 loads' p[7 ..< 15] end at the last window's last column).
    var paddedPlaneWidth: Int { ((outWidth + 7) / 8 * 8 - 1) * strideWidth + kernelWidth }
    var paddedPlaneSize: Int { paddedPlaneHeight * paddedPlaneWidth }
}
