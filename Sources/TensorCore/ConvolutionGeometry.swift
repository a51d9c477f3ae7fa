// The sizes of one 2-D convolution, validated once so the kernels can trust them.
// Output size follows PyTorch exactly: floor((H + 2p − d·(k−1) − 1) / s) + 1.

public struct ConvolutionGeometry: Equatable, Sendable, CustomStringConvertible {
    public var batch, inChannels, inHeight, inWidth, outChannels: Int
    public var kernelHeight, kernelWidth, strideHeight, strideWidth, padHeight, padWidth,
               dilationHeight, dilationWidth, groups: Int

    /// Throws `TensorCoreError.invalidGeometry` when a size, stride, dilation or group count
    /// is not positive, padding is negative, the channels do not divide into the groups,
    /// or the (dilated) kernel does not fit in the padded input.
    public init(batch: Int, inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                padHeight: Int = 0, padWidth: Int = 0, dilationHeight: Int = 1, dilationWidth: Int = 1,
                groups: Int = 1) throws {
        self.batch = batch
        self.inChannels = inChannels
        self.inHeight = inHeight
        self.inWidth = inWidth
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideHeight = strideHeight
        self.strideWidth = strideWidth
        self.padHeight = padHeight
        self.padWidth = padWidth
        self.dilationHeight = dilationHeight
        self.dilationWidth = dilationWidth
        self.groups = groups

        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
            if !condition { throw TensorCoreError.invalidGeometry(message()) }
        }
        try require(batch > 0, "batch size must be positive, got \(batch)")
        try require(inChannels > 0 && outChannels > 0,
                    "channel counts must be positive, got \(inChannels) in, \(outChannels) out")
        try require(inHeight > 0 && inWidth > 0, "input size must be positive, got \(inHeight)x\(inWidth)")
        try require(kernelHeight > 0 && kernelWidth > 0,
                    "kernel size must be positive, got \(kernelHeight)x\(kernelWidth)")
        try require(strideHeight > 0 && strideWidth > 0,
                    "stride must be positive, got \(strideHeight)x\(strideWidth)")
        try require(padHeight >= 0 && padWidth >= 0, "padding must not be negative, got \(padHeight)x\(padWidth)")
        try require(dilationHeight > 0 && dilationWidth > 0,
                    "dilation must be positive, got \(dilationHeight)x\(dilationWidth)")
        try require(groups > 0, "groups must be positive, got \(groups)")
        try require(inChannels % groups == 0 && outChannels % groups == 0,
                    "channels \(inChannels) in and \(outChannels) out must both be divisible by groups (\(groups))")
        let paddedHeight = inHeight + 2 * padHeight, paddedWidth = inWidth + 2 * padWidth
        try require(dilationHeight * (kernelHeight - 1) + 1 <= paddedHeight
                        && dilationWidth * (kernelWidth - 1) + 1 <= paddedWidth,
                    "kernel \(kernelHeight)x\(kernelWidth) (dilation \(Self.pair(dilationHeight, dilationWidth))) "
                        + "is larger than the padded input \(paddedHeight)x\(paddedWidth) "
                        + "(input \(inHeight)x\(inWidth), padding \(Self.pair(padHeight, padWidth)))")
    }

    public var outHeight: Int { (inHeight + 2 * padHeight - dilationHeight * (kernelHeight - 1) - 1) / strideHeight + 1 }
    public var outWidth: Int { (inWidth + 2 * padWidth - dilationWidth * (kernelWidth - 1) - 1) / strideWidth + 1 }

    /// Input channels seen by one filter.
    public var inChannelsPerGroup: Int { inChannels / groups }
    /// Filters in one group.
    public var outChannelsPerGroup: Int { outChannels / groups }
    /// Elements of the weight tensor [out, in/groups, kH, kW].
    public var weightCount: Int { outChannels * inChannelsPerGroup * kernelHeight * kernelWidth }
    public var inputCount: Int { batch * inChannels * inHeight * inWidth }
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }

    public var description: String {
        var text = "conv \(inChannels)→\(outChannels) kernel \(kernelHeight)x\(kernelWidth)"
            + " stride \(Self.pair(strideHeight, strideWidth)) padding \(Self.pair(padHeight, padWidth))"
        if dilationHeight != 1 || dilationWidth != 1 { text += " dilation \(Self.pair(dilationHeight, dilationWidth))" }
        if groups != 1 { text += " groups \(groups)" }
        return text + " on [\(batch), \(inChannels), \(inHeight), \(inWidth)] → "
            + "[\(batch), \(outChannels), \(outHeight), \(outWidth)]"
    }

    /// "2" when both axes agree, "2x1" when they differ.
    static func pair(_ height: Int, _ width: Int) -> String { height == width ? "\(height)" : "\(height)x\(width)" }
}
