import TensorCore

/// The training augmentations of one data set, in the order applied (AlexNet's list, as
/// torchvision and fb.resnet.torch compose it): random crop (with zero padding, or from a
/// larger image), horizontal flip, PCA lighting; per-channel normalisation follows when the
/// batch is made. Each sample's draws come from the stream seed → "augment" → epoch → sample
/// index alone, so a batch is a pure function of (seed, epoch, sample) whatever the rank, the
/// thread or the resume point. Validation is not augmented: it takes the centre crop where
/// the crop is smaller than the image (so the model sees the same input shape), else the image.
public struct Augmentation: Equatable, Sendable {
    public var crop: RandomCrop?
    public var horizontalFlip: Bool
    public var lighting: PCALighting?

    public init(crop: RandomCrop? = nil, horizontalFlip: Bool = false, lighting: PCALighting? = nil) {
        self.crop = crop
        self.horizontalFlip = horizontalFlip
        self.lighting = lighting
    }

    /// True when training images pass through unchanged.
    public var isIdentity: Bool { crop == nil && !horizontalFlip && lighting == nil }

    /// The shape of one output image, [C, H, W], for input images of `channels`×`height`×`width`;
    /// throws where the crop does not fit or lighting meets images that are not RGB.
    public func outputShape(channels: Int, height: Int, width: Int) throws -> [Int] {
        if lighting != nil && channels != 3 {
            throw DataError.invalidAugmentation("lighting (PCA) jitter needs RGB images, these have \(channels) channel(s)")
        }
        guard let crop else { return [channels, height, width] }
        guard crop.size >= 1, crop.padding >= 0, crop.size <= height, crop.size <= width else {
            throw DataError.invalidAugmentation("random crop of \(crop.size) (padding \(crop.padding)) does not fit "
                + "\(height)x\(width) images: the size must lie in 1...\(min(height, width)) (validation takes the centre crop)")
        }
        return [channels, crop.size, crop.size]
    }

    /// The random stream of one training sample: seed → "augment" → epoch → sample index.
    public static func stream(seed: UInt64, epoch: Int, sample: Int) -> RandomGenerator {
        RandomGenerator(seed: seed).split("augment").split(UInt64(epoch)).split(UInt64(sample))
    }

    /// Writes the augmented training image (output shape) of `source` ([C, H, W]) to `target`.
    public func apply(_ source: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                      random: inout RandomGenerator, into target: UnsafeMutablePointer<Float>) {
        var (outHeight, outWidth) = (height, width)
        if let crop {
            let origin = crop.randomOrigin(height: height, width: width, random: &random)
            crop.copy(source, channels: channels, height: height, width: width, top: origin.top, left: origin.left, into: target)
            (outHeight, outWidth) = (crop.size, crop.size)
        } else {
            target.update(from: source, count: channels * height * width)
        }
        if horizontalFlip && random.nextUnitFloat() < HorizontalFlip.probability {
            HorizontalFlip.apply(target, channels: channels, height: outHeight, width: outWidth)
        }
        if let lighting {
            PCALighting.apply(lighting.shift(random: &random), to: target, plane: outHeight * outWidth)
        }
    }

    /// Writes the validation image of `source`: its centre crop, or the image itself.
    public func applyValidation(_ source: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                into target: UnsafeMutablePointer<Float>) {
        if let crop, crop.size < height || crop.size < width {
            let origin = crop.centerOrigin(height: height, width: width)
            crop.copy(source, channels: channels, height: height, width: width, top: origin.top, left: origin.left, into: target)
        } else {
            target.update(from: source, count: channels * height * width)
        }
    }
}
