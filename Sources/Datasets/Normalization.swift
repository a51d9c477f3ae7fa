/// Per-channel normalisation applied when batches are made: (x − mean[c]) / std[c].
public struct Normalization: Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float], channels: Int) throws {
        guard mean.count == channels, std.count == channels else {
            throw DataError.invalidNormalization(
                "normalisation has \(mean.count) mean and \(std.count) std values for \(channels)-channel images: give one per channel")
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw DataError.invalidNormalization("normalisation std must be positive, got \(std)")
        }
        self.mean = mean
        self.std = std
    }

    /// Normalises a [C, plane] image in place: (x − mean) / std exactly as torchvision's
    /// Normalize computes it (a division, not a product with 1/std).
    public func apply(to image: UnsafeMutablePointer<Float>, plane: Int) {
        for c in mean.indices {
            let (channelMean, channelStd, start) = (mean[c], std[c], image + c * plane)
            for i in 0..<plane { start[i] = (start[i] - channelMean) / channelStd }
        }
    }
}
