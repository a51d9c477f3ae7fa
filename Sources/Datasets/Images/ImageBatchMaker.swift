import Dispatch
import Foundation
import TensorCore

/// What a sample that cannot be decoded does (`data.on_bad_image`).
public enum BadImagePolicy: String, Sendable, CaseIterable {
    /// Stop, naming the file.
    case error
    /// Replace it by the next readable sample of the same batch (so every rank keeps equal
    /// batches), transformed with the bad sample's own random stream, and count it.
    case skip
}

/// Makes batches of encoded images (folders or packed shards): each sample read, decoded and
/// transformed by `ImagePipeline` on one of `workers` threads. Sample i of a batch depends on
/// (seed, epoch, sample index) only, so the batch is the same bits whatever the worker count.
public final class ImageBatchMaker: BatchMaking, @unchecked Sendable {
    public let images: any EncodedImages
    public let pipeline: ImagePipeline
    public let seed: UInt64
    public let workers: Int
    public let onBadImage: BadImagePolicy
    /// One per worker: the pipeline's decoder and buffers, and a buffer for the file's bytes.
    private let contexts: [Context]
    /// make() runs one batch at a time (the contexts are shared by its workers).
    private let lock = NSLock()

    final class Context {
        let worker: ImageWorker
        var bytes: [UInt8] = []
        /// Images decoded, and how many of them at reduced size.
        var decoded = 0, reduced = 0
        init(_ pipeline: ImagePipeline) { worker = ImageWorker(pipeline: pipeline) }
    }

    public init(
        images: any EncodedImages, pipeline: ImagePipeline, seed: UInt64, workers: Int,
        onBadImage: BadImagePolicy = .error
    ) {
        self.images = images
        self.pipeline = pipeline
        self.seed = seed
        self.workers = max(1, workers)
        self.onBadImage = onBadImage
        contexts = (0..<max(1, workers)).map { _ in Context(pipeline) }
    }

    public var sampleCount: Int { images.count }

    /// The share of images decoded at 1/2, 1/4 or 1/8 size so far.
    public var reducedDecodeShare: Double {
        lock.withLock {
            let decoded = contexts.reduce(0) { $0 + $1.decoded }
            return decoded > 0 ? Double(contexts.reduce(0) { $0 + $1.reduced }) / Double(decoded) : 0
        }
    }
    public var labels: [Int32] { images.labels }
    public var imageShape: [Int] { pipeline.outputShape }

    public func validationView(_ view: CropView) -> any BatchMaking {
        var viewed = pipeline
        viewed.view = view
        return ImageBatchMaker(images: images, pipeline: viewed, seed: seed, workers: workers, onBadImage: onBadImage)
    }

    public func make<Indices: Collection<Int>>(_ indices: Indices, epoch: Int?, into batch: Batch) throws {
        lock.lock()
        defer { lock.unlock() }
        let samples = Array(indices), size = imageShape.reduce(1, *)
        precondition(samples.allSatisfy { (0..<images.count).contains($0) }, "batch index outside 0..<\(images.count)")
        batch.input.reshape(samples.count, imageShape[0], imageShape[1], imageShape[2])
        batch.labels.removeAll(keepingCapacity: true)
        batch.replaced.removeAll(keepingCapacity: true)
        var failures = [Error?](repeating: nil, count: samples.count)
        let input = batch.input.pointer
        failures.withUnsafeMutableBufferPointer { failures in
            let failures = failures  // each worker writes only its own rows
            let run = { (worker: Int) in
                for row in stride(from: worker, to: samples.count, by: self.workers) {
                    do {
                        try self.transform(
                            samples[row], as: samples[row], epoch: epoch, context: self.contexts[worker],
                            into: input + row * size)
                    } catch {
                        failures[row] = error
                    }
                }
            }
            if workers == 1 || samples.count == 1 {
                run(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers, execute: run)
            }
        }
        for (row, sample) in samples.enumerated() {
            guard let failure = failures[row] else {
                batch.labels.append(images.labels[sample])
                continue
            }
            guard onBadImage == .skip else { throw UnreadableSample(failure: failure) }
            // The next readable image of the batch (a batch's samples come from one rank's shard),
            // else of the data set after it; transformed with the bad sample's stream, so it is not a
            // copy of the stand-in's own row.
            let inBatch = (1..<max(samples.count, 1)).lazy.map { (row + $0) % samples.count }
                .first { failures[$0] == nil }.map { samples[$0] }
            let stand =
                try inBatch.map { candidate -> Int in
                    try transform(candidate, as: sample, epoch: epoch, context: contexts[0], into: input + row * size)
                    return candidate
                } ?? standIn(after: sample, epoch: epoch, into: input + row * size, failure: failure)
            batch.labels.append(images.labels[stand])
            batch.replaced.append(images.name(of: sample))
        }
    }

    /// The first readable sample of the data set after `sample` (within 64), written to `target`
    /// with `sample`'s random stream: the stand-in when no image of its batch can be read.
    private func standIn(after sample: Int, epoch: Int?, into target: UnsafeMutablePointer<Float>, failure: Error)
        throws -> Int
    {
        for step in 1...min(64, max(1, images.count - 1)) {
            let candidate = (sample + step) % images.count
            if (try? transform(candidate, as: sample, epoch: epoch, context: contexts[0], into: target)) != nil {
                return candidate
            }
        }
        throw DataError.badImage(
            path: images.name(of: sample),
            reason: "\(failure); and none of the next 64 images can stand in for it")
    }

    /// An unreadable sample in `data.on_bad_image: error` mode: the reason, and the way around it.
    public struct UnreadableSample: Error, CustomStringConvertible {
        public let failure: Error
        public var description: String {
            "\(failure) (data.on_bad_image: skip replaces unreadable images and counts them)"
        }
    }

    /// Reads, decodes and transforms `sample`, drawing from the random stream of sample `streamOf`.
    private func transform(
        _ sample: Int, as streamOf: Int, epoch: Int?, context: Context,
        into target: UnsafeMutablePointer<Float>
    ) throws {
        let length = try images.read(sample, into: &context.bytes)
        var random = epoch.map { Augmentation.stream(seed: seed, epoch: $0, sample: streamOf) }
        do {
            try context.bytes.withUnsafeBytes { bytes in
                try context.worker.transform(
                    UnsafeRawBufferPointer(rebasing: bytes[0..<length]), random: &random,
                    into: target)
            }
            context.decoded += 1
            if context.worker.lastReduction > 1 { context.reduced += 1 }
        } catch let error as ImageDecodingError {
            throw DataError.badImage(path: images.name(of: sample), reason: error.reason)
        }
    }
}
