import Datasets
import TensorCore

/// Gradient accumulation (`training.micro_batches`): a rank's batch cut into equal micro-batches,
/// each copied into memory reused from step to step, so a warm step still allocates nothing.
final class MicroBatches {
    let count: Int
    let input = Tensor(shape: [0])
    private(set) var labels: [Int32] = []

    init(count: Int) {
        precondition(count > 1, "micro-batches: \(count); one needs no splitting")
        self.count = count
    }

    /// Loads micro-batch `index` of `batch` into `input` and `labels`.
    func load(_ index: Int, of batch: Batch) {
        let size = batch.labels.count / count
        precondition(size * count == batch.labels.count, "a batch of \(batch.labels.count) into \(count) micro-batches")
        let shape = batch.input.shape  // [n, C, H, W]
        let sampleSize = shape[1] * shape[2] * shape[3]
        input.reshape(size, shape[1], shape[2], shape[3])  // within capacity: no allocation
        input.pointer.update(from: batch.input.pointer + index * size * sampleSize, count: size * sampleSize)
        labels.removeAll(keepingCapacity: true)
        labels.append(contentsOf: batch.labels[index * size..<(index + 1) * size])
    }
}
