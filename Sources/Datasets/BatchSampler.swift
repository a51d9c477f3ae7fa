import TensorCore

/// Which samples each rank takes for each global batch (PyTorch DistributedSampler semantics).
///
/// The epoch's permutation is a pure function of (seed, epoch), the same on every rank.
/// Global batch b covers permutation[b·B ..< (b+1)·B]; rank r takes the contiguous slice
/// [r·B/W ..< (r+1)·B/W] of it, so the ranks' shards are disjoint and together exactly the
/// global batch. Remainder: with `dropLast` (training) a final incomplete global batch is
/// dropped, so every step has the full global batch; without it (validation) the final
/// batch is kept and split as evenly as possible (a rank may get one sample fewer, or none).
/// Without `shuffle` the order is the file order in every epoch.
public struct BatchSampler: Sendable {
    public let sampleCount: Int
    public let globalBatchSize: Int
    public let rank: Int
    public let worldSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool

    public init(sampleCount: Int, globalBatchSize: Int, rank: Int = 0, worldSize: Int = 1, shuffle: Bool,
                seed: UInt64, dropLast: Bool) throws {
        guard globalBatchSize > 0 else { throw DataError.invalidBatch("batch size must be positive, got \(globalBatchSize)") }
        guard worldSize > 0, (0..<worldSize).contains(rank) else {
            throw DataError.invalidBatch("rank \(rank) is not in 0..<\(worldSize) (world size \(worldSize))")
        }
        guard sampleCount >= 0 else { throw DataError.invalidBatch("sample count must not be negative, got \(sampleCount)") }
        guard globalBatchSize % worldSize == 0 else {
            throw DataError.invalidBatch("global batch \(globalBatchSize) does not divide over \(worldSize) ranks: "
                + "set training.batch_size to a multiple of \(worldSize)")
        }
        guard !dropLast || sampleCount >= globalBatchSize else {
            throw DataError.invalidBatch("\(sampleCount) training samples are fewer than one global batch of \(globalBatchSize)")
        }
        self.sampleCount = sampleCount
        self.globalBatchSize = globalBatchSize
        self.rank = rank
        self.worldSize = worldSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    public var batchesPerEpoch: Int {
        dropLast ? sampleCount / globalBatchSize : (sampleCount + globalBatchSize - 1) / globalBatchSize
    }

    /// The order of all samples in `epoch`: seed → "shuffle" → epoch, the same on every rank.
    public func permutation(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<sampleCount) }
        var random = RandomGenerator(seed: seed).split("shuffle").split(UInt64(epoch))
        return random.permutation(sampleCount)
    }

    /// This rank's sample indices for global batch `batch` of `epoch` (recomputes the epoch's
    /// permutation: loops over a whole epoch should use `indices(batch:permutation:)`).
    public func indices(epoch: Int, batch: Int) -> [Int] {
        indices(batch: batch, permutation: permutation(epoch: epoch))
    }

    /// As `indices(epoch:batch:)`, reusing an epoch's permutation computed once.
    public func indices(batch: Int, permutation: [Int]) -> [Int] {
        precondition(permutation.count == sampleCount, "permutation of \(permutation.count) for \(sampleCount) samples")
        return Array(permutation[positions(batch: batch)])
    }

    /// Where this rank's samples of global batch `batch` stand in the epoch's permutation.
    public func positions(batch: Int) -> Range<Int> {
        precondition((0..<batchesPerEpoch).contains(batch), "batch \(batch) outside 0..<\(batchesPerEpoch)")
        let start = batch * globalBatchSize
        let size = min(globalBatchSize, sampleCount - start)
        return (start + rank * size / worldSize)..<(start + (rank + 1) * size / worldSize)
    }
}

/// Copies the samples at `indices` into `input` ([n, C, H, W], normalised) and their labels
/// into `labels`; both are reused from step to step without reallocating once large enough.
/// Normalising here, not at load time, keeps the data set in [0, 1] for any normalisation.
/// No augmentation: `BatchMaker` makes augmented batches.
public func makeBatch(_ images: LabeledImages, indices: [Int], normalization: Normalization?,
                      into input: Tensor, labels: inout [Int32]) {
    do {
        try BatchMaker(images: images, normalization: normalization, seed: 0)
            .make(indices, epoch: nil, into: input, labels: &labels)
    } catch {
        preconditionFailure("\(error)")
    }
}
