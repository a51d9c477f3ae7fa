import TensorCore

/// Makes the batches of one data set split: the in-memory sets' `BatchMaker` and the image
/// folders' `ImageBatchMaker`. A batch is a pure function of (seed, epoch, indices): any
/// thread may make it, and the same indices always give the same bits.
public protocol BatchMaking: Sendable {
    /// Samples in the split.
    var sampleCount: Int { get }
    /// Every sample's label, in sample order.
    var labels: [Int32] { get }
    /// One output image, [C, H, W].
    var imageShape: [Int] { get }
    /// The batch of the samples at `indices`: a training batch of `epoch` (augmented), or with
    /// `epoch` nil a validation batch. Throws for an unreadable sample (naming it).
    func make<Indices: Collection<Int>>(_ indices: Indices, epoch: Int?, into batch: Batch) throws
    /// The same samples whose validation batches show `view` (test-time augmentation, `evaluate --ten-crop`):
    /// that fixed crop of what validation crops from, mirrored or not.
    func validationView(_ view: CropView) -> any BatchMaking
}

/// One batch: the input ([n, C, H, W]), its labels, and the samples that could not be read and
/// were replaced (`data.on_bad_image: skip`). Reused from batch to batch.
public final class Batch {
    public let input = Tensor(shape: [0])
    public internal(set) var labels: [Int32] = []
    /// Paths of the samples replaced in this batch (usually none).
    public internal(set) var replaced: [String] = []

    public init() {}
}
