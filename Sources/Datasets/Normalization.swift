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
}
