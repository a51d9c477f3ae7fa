import Datasets
import Dispatch
import Foundation
import TensorCore

/// Images/s of the image pipeline alone (read, decode, transform, batch), on `workers`
/// threads: the measurement `../shared/peers/imagefolder_throughput.py` makes of torchvision's
/// DataLoader, with the same transforms (train: RandomResizedCrop + flip + normalise; val:
/// resize size·256/224 + centre crop + normalise) on the same ImageFolder root.
public enum ImageFolderBenchmark {
    public struct Result: Encodable {
        public var tool = "cnn-dist"
        public var workers: Int
        public var batch: Int
        public var mode: String
        public var size: Int
        public var images: Int
        public var imagesPerSecond: Double
        /// Share of JPEGs decoded at reduced size (DCT scaling).
        public var reducedDecodes: Double

        enum CodingKeys: String, CodingKey {
            case tool, workers, batch, mode, size, images, imagesPerSecond = "images_per_sec", reducedDecodes =
                "reduced_decodes"
        }
    }

    public static func run(
        root: String, workers: Int, batch: Int, batches: Int, validation: Bool, size: Int,
        reducedDecoding: Bool, seed: UInt64 = 1
    ) throws -> Result {
        let list = try ImageFileList.scan(folder: root)
        let normalization = try Normalization(mean: ImageNet.mean, std: ImageNet.std, channels: 3)
        let pipeline =
            validation
            ? ImagePipeline(
                geometry: .resizeAndCrop(resize: size * 256 / 224, crop: size, random: false), channels: 3,
                normalization: normalization, reducedDecoding: false)
            : ImagePipeline(
                geometry: .randomResizedCrop(size: size, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3)), channels: 3,
                horizontalFlip: true, normalization: normalization, reducedDecoding: reducedDecoding)
        let maker = ImageBatchMaker(images: FolderImages(list), pipeline: pipeline, seed: seed, workers: workers)
        let sampler = try BatchSampler(
            sampleCount: list.count, globalBatchSize: batch, shuffle: true, seed: seed, dropLast: true)
        let made = Batch()
        // The first batch starts the threads and fills the buffers, as the peer's first batch starts its workers.
        try maker.make(sampler.indices(epoch: 0, batch: 0), epoch: validation ? nil : 0, into: made)
        let start = DispatchTime.now().uptimeNanoseconds
        var images = 0
        for step in 1...batches {
            let epoch = step / sampler.batchesPerEpoch, index = step % sampler.batchesPerEpoch
            try maker.make(sampler.indices(epoch: epoch, batch: index), epoch: validation ? nil : epoch, into: made)
            images += made.labels.count
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(
            workers: workers, batch: batch, mode: validation ? "val" : "train", size: size, images: images,
            imagesPerSecond: (Double(images) / seconds * 10).rounded() / 10,
            reducedDecodes: maker.reducedDecodeShare)
    }
}
