import TensorCore

/// Makes batches of one data set: copies the samples at given indices into an input tensor
/// ([n, C, H, W]) with their labels, augmenting training batches and normalising both kinds.
/// A batch is a pure function of (seed, epoch, indices), so any thread may make it.
public struct BatchMaker: BatchMaking {
    public let images: LabeledImages
    public let normalization: Normalization?
    public let augmentation: Augmentation
    public let seed: UInt64
    /// One output image, [C, H, W] (the crop size where there is a crop).
    public let imageShape: [Int]
    /// Validation batches show this fixed crop (of the crop size, or the whole image without a
    /// crop), mirrored or not, in place of the centre crop; nil: the centre crop.
    public private(set) var view: CropView?

    public init(images: LabeledImages, normalization: Normalization?, augmentation: Augmentation = Augmentation(),
                seed: UInt64) throws {
        if let normalization, normalization.mean.count != images.channels || normalization.std.count != images.channels {
            throw DataError.invalidNormalization("normalisation for \(normalization.mean.count) channels, "
                + "images have \(images.channels)")
        }
        imageShape = try augmentation.outputShape(channels: images.channels, height: images.height, width: images.width)
        self.images = images
        self.normalization = normalization
        self.augmentation = augmentation
        self.seed = seed
    }

    public var sampleCount: Int { images.count }
    public var labels: [Int32] { images.labels }

    public func validationView(_ view: CropView) -> any BatchMaking {
        var viewed = self
        viewed.view = view
        return viewed
    }

    public func make<Indices: Collection<Int>>(_ indices: Indices, epoch: Int?, into batch: Batch) {
        make(indices, epoch: epoch, into: batch.input, labels: &batch.labels)
    }

    /// The batch of the samples at `indices`: a training batch of `epoch` (augmented), or with
    /// `epoch` nil a validation batch (centre crop only). `input` and `labels` are reused from
    /// call to call without reallocating once large enough.
    public func make<Indices: Collection<Int>>(_ indices: Indices, epoch: Int?, into input: Tensor, labels: inout [Int32]) {
        precondition(indices.allSatisfy { (0..<images.count).contains($0) }, "batch index outside 0..<\(images.count)")
        let (channels, height, width) = (images.channels, images.height, images.width)
        let size = imageShape.reduce(1, *), plane = imageShape[1] * imageShape[2]
        input.reshape(indices.count, imageShape[0], imageShape[1], imageShape[2])
        labels.removeAll(keepingCapacity: true)
        images.pixels.withUnsafeBufferPointer { pixels in
            for (row, index) in indices.enumerated() {
                let source = pixels.baseAddress! + index * images.imageSize, target = input.pointer + row * size
                if let epoch, !augmentation.isIdentity {
                    var random = Augmentation.stream(seed: seed, epoch: epoch, sample: index)
                    augmentation.apply(source, channels: channels, height: height, width: width, random: &random, into: target)
                } else if let view {
                    if let crop = augmentation.crop {
                        let origin = view.origin(height: height, width: width, crop: crop.size)
                        RandomCrop(size: crop.size, padding: 0).copy(
                            source, channels: channels, height: height, width: width, top: origin.top,
                            left: origin.left, into: target)
                    } else {
                        target.update(from: source, count: channels * height * width)  // every position: the image
                    }
                    if view.flipped {
                        HorizontalFlip.apply(target, channels: channels, height: imageShape[1], width: imageShape[2])
                    }
                } else {
                    augmentation.applyValidation(source, channels: channels, height: height, width: width, into: target)
                }
                normalization?.apply(to: target, plane: plane)
                labels.append(images.labels[index])
            }
        }
    }
}
