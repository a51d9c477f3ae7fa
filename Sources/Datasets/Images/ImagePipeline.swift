import TensorCore

/// What becomes of one encoded image on its way into a batch: the geometry (crop and resize),
/// then on the [C, H, W] floats in [0, 1] a horizontal flip, colour jitter, PCA lighting and
/// per-channel normalisation, in that order (AlexNet's and torchvision's order). Training
/// draws every random choice from the sample's own stream; validation uses none.
public struct ImagePipeline: Equatable, Sendable {
    public var geometry: ImageGeometry
    public var channels: Int
    public var horizontalFlip: Bool
    public var colorJitter: ColorJitter?
    public var lighting: PCALighting?
    public var normalization: Normalization?
    /// Decode JPEGs at 1/2, 1/4 or 1/8 size when the crop still has at least the output's pixels.
    public var reducedDecoding: Bool
    /// Validation only: a fixed crop of the resized image in place of the centre crop (`TenCrop`'s views).
    public var view: CropView?

    public init(
        geometry: ImageGeometry, channels: Int, horizontalFlip: Bool = false, colorJitter: ColorJitter? = nil,
        lighting: PCALighting? = nil, normalization: Normalization?, reducedDecoding: Bool = true
    ) {
        self.geometry = geometry
        self.channels = channels
        self.horizontalFlip = horizontalFlip
        self.colorJitter = colorJitter
        self.lighting = lighting
        self.normalization = normalization
        self.reducedDecoding = reducedDecoding
    }

    /// One output image, [C, side, side].
    public var outputShape: [Int] { [channels, geometry.outputSide, geometry.outputSide] }
}

/// Runs an `ImagePipeline` on encoded images: one per thread (it owns a decoder, a resampler
/// and their buffers, reused from image to image).
public final class ImageWorker {
    public let pipeline: ImagePipeline
    private let decoder = ImageDecoder()
    private let resampler = ImageResampler()
    private var decoded = DecodedImage(width: 0, height: 0, channels: 1, pixels: [])
    private var resized: [UInt8] = []
    /// Above this many pixels (64 MB of RGBA) an image's buffers are not kept for the next one.
    static let largeImagePixels = 16_000_000
    /// The DCT reduction the last image was decoded at (1: full size).
    public private(set) var lastReduction = 1

    /// Per channel, every byte's final value when nothing comes between ToTensor and Normalize:
    /// ((byte / 255) − mean) / std, computed as torchvision computes it, so a lookup replaces a
    /// division and a pass (15% of a sample's time before).
    private let byteValues: [[Float]]

    public init(pipeline: ImagePipeline) {
        self.pipeline = pipeline
        byteValues = (0..<pipeline.channels).map { c in
            (0..<256).map { byte in
                let value = Float(byte) / 255
                guard let normalization = pipeline.normalization else { return value }
                return (value - normalization.mean[c]) / normalization.std[c]
            }
        }
    }

    /// Decodes `bytes` and writes the transformed image ([C, side, side] floats) to `target`.
    /// `random` is the sample's stream for training, nil for validation (centre crop, no flips).
    public func transform(
        _ bytes: UnsafeRawBufferPointer, random: inout RandomGenerator?,
        into target: UnsafeMutablePointer<Float>
    ) throws {
        let (width, height) = try decoder.size(bytes)
        // A huge image's buffers are let go afterwards, not kept for the rest of the run by every worker.
        defer {
            if width * height > Self.largeImagePixels {
                decoded.pixels = []
                decoder.releaseBuffers()
                resampler.releaseBuffers()
            }
        }
        let plan = plan(width: width, height: height, random: &random)
        guard plan.keptLeft >= 0, plan.keptTop >= 0, plan.keptLeft + plan.side <= plan.resizedWidth,
            plan.keptTop + plan.side <= plan.resizedHeight
        else {
            throw ImageDecodingError(
                "a \(plan.side)x\(plan.side) crop does not fit the \(plan.resizedWidth)x"
                    + "\(plan.resizedHeight) resized image: the resize must be at least the crop")
        }
        lastReduction = try decoder.decode(
            bytes, channels: pipeline.channels,
            reduction: ImageFormat.sniff(bytes) == .jpeg ? plan.reduction : 1,
            into: &decoded)
        let side = pipeline.geometry.outputSide, channels = pipeline.channels, plane = side * side
        if resized.count < plane * channels { resized = [UInt8](repeating: 0, count: plane * channels) }
        let axes = plan.axes(reduction: lastReduction, decoded: decoded)
        resized.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            resampler.resample(decoded, horizontal: axes.0, vertical: axes.1, into: base)
        }
        var flip = random == nil && pipeline.view?.flipped == true
        if pipeline.horizontalFlip, var generator = random {
            flip = generator.nextUnitFloat() < HorizontalFlip.probability
            random = generator
        }
        let jitters = pipeline.colorJitter.map { !$0.isIdentity } ?? false
        let adjustsColours = random != nil && (jitters || pipeline.lighting != nil)
        // ToTensor: HWC bytes to CHW floats, divided by 255 (a division, as torchvision's, not a
        // product); with nothing in between, Normalize too, through the table.
        resized.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            for c in 0..<channels {
                byteValues[c].withUnsafeBufferPointer { table in
                    for y in 0..<side {
                        let row = target + c * plane + y * side, input = base + y * side * channels + c
                        if adjustsColours {
                            for x in 0..<side { row[flip ? side - 1 - x : x] = Float(input[x * channels]) / 255 }
                        } else if flip {
                            for x in 0..<side { row[side - 1 - x] = table[Int(input[x * channels])] }
                        } else {
                            for x in 0..<side { row[x] = table[Int(input[x * channels])] }
                        }
                    }
                }
            }
        }
        guard adjustsColours else { return }
        if var generator = random {
            if let colorJitter = pipeline.colorJitter, !colorJitter.isIdentity {
                colorJitter.apply(to: target, channels: channels, plane: plane, random: &generator)
            }
            if let lighting = pipeline.lighting {
                PCALighting.apply(lighting.shift(random: &generator), to: target, plane: plane)
            }
            random = generator
        }
        pipeline.normalization?.apply(to: target, plane: plane)
    }

    /// The sample's geometry in full-size source pixels, and the DCT reduction it allows.
    struct Plan {
        /// The source region (crop box, or the whole image for resize-and-crop).
        var box: ImageGeometry.Box
        /// The size the box is resized to, and the window of it kept.
        var resizedWidth: Int, resizedHeight: Int
        var keptLeft: Int, keptTop: Int, side: Int
        /// True when the taps stop at the box's edges (torchvision crops, then resizes).
        var clampToBox: Bool
        var reduction: Int

        /// The resampling axes on the image as decoded at `reduction`.
        func axes(reduction: Int, decoded: DecodedImage) -> (ImageResampler.Axis, ImageResampler.Axis) {
            func axis(start: Int, length: Int, size: Int, resized: Int, kept: Int) -> ImageResampler.Axis {
                if reduction == 1 {
                    let bounds = clampToBox ? start..<(start + length) : 0..<size
                    return ImageResampler.Axis(
                        box: 0...Double(length), origin: start, bounds: bounds, outputSize: resized,
                        outputs: kept..<(kept + side))
                }
                let r = Double(reduction)
                let low = Double(start) / r, high = Double(start + length) / r
                let origin = Int(low.rounded(.down))
                let bounds = clampToBox ? origin..<min(Int(high.rounded(.up)), size) : 0..<size
                return ImageResampler.Axis(
                    box: (low - Double(origin))...(high - Double(origin)), origin: origin, bounds: bounds,
                    outputSize: resized, outputs: kept..<(kept + side))
            }
            return (
                axis(start: box.left, length: box.width, size: decoded.width, resized: resizedWidth, kept: keptLeft),
                axis(start: box.top, length: box.height, size: decoded.height, resized: resizedHeight, kept: keptTop)
            )
        }
    }

    func plan(width: Int, height: Int, random: inout RandomGenerator?) -> Plan {
        var plan: Plan
        switch pipeline.geometry {
        case .resizeAndCrop(let shorter, let crop, let isRandom):
            let resized = ImageGeometry.resizedSize(width: width, height: height, shorter: shorter)
            var top = ImageGeometry.centerOffset(size: resized.height, crop: crop)
            var left = ImageGeometry.centerOffset(size: resized.width, crop: crop)
            if random == nil, let view = pipeline.view {
                (top, left) = view.origin(height: resized.height, width: resized.width, crop: crop)
            }
            if isRandom, var generator = random {
                top = generator.nextInt(below: resized.height - crop + 1)
                left = generator.nextInt(below: resized.width - crop + 1)
                random = generator
            }
            plan = Plan(
                box: .init(top: 0, left: 0, height: height, width: width), resizedWidth: resized.width,
                resizedHeight: resized.height, keptLeft: left, keptTop: top, side: crop, clampToBox: false,
                reduction: 1)
        case .randomResizedCrop(let size, let scale, let ratio):
            let box: ImageGeometry.Box
            if var generator = random {
                box = ImageGeometry.randomResizedBox(
                    width: width, height: height, scale: scale, ratio: ratio,
                    random: &generator)
                random = generator
            } else {
                // Validation without a resize: the centre crop of the largest box RandomResizedCrop could take.
                box = ImageGeometry.fallbackBox(width: width, height: height, ratio: ratio)
            }
            plan = Plan(
                box: box, resizedWidth: size, resizedHeight: size, keptLeft: 0, keptTop: 0, side: size,
                clampToBox: true, reduction: 1)
        }
        if pipeline.reducedDecoding {
            // The largest 1/2^k at which the box still has at least as many pixels as it is resized to.
            for reduction in [8, 4, 2]
            where plan.box.width / reduction >= plan.resizedWidth
                && plan.box.height / reduction >= plan.resizedHeight
            {
                plan.reduction = reduction
                break
            }
        }
        return plan
    }
}
