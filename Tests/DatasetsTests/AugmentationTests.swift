import XCTest

@testable import Datasets
@testable import TensorCore

final class AugmentationTests: XCTestCase {
    /// 3x32x32 images whose pixels encode their position: channel c, row y, column x hold
    /// (c·1024 + y·32 + x + 1) / 4096, so a crop's source position can be read back.
    func positional(count: Int = 4) -> LabeledImages {
        let size = 3 * 32 * 32
        var pixels = [Float](repeating: 0, count: count * size)
        for n in 0..<count { for i in 0..<size { pixels[n * size + i] = Float(i + 1) / 4096 } }
        return LabeledImages(name: "positions", channels: 3, height: 32, width: 32, classes: 10, pixels: pixels,
                             labels: (0..<count).map { Int32($0) })
    }

    func batch(_ maker: BatchMaker, _ indices: [Int], epoch: Int?) -> (input: [Float], shape: [Int], labels: [Int32]) {
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        maker.make(indices, epoch: epoch, into: input, labels: &labels)
        return (input.array, input.shape, labels)
    }

    let full = Augmentation(crop: RandomCrop(size: 32, padding: 4), horizontalFlip: true, lighting: PCALighting(alphaStd: 0.1))

    func testOutputShapes() throws {
        let images = SyntheticShapes.makeColor(count: 8, seed: 1, stream: "t")
        let padded = try BatchMaker(images: images, normalization: nil, augmentation: full, seed: 1)
        XCTAssertEqual(padded.imageShape, [3, 32, 32])
        XCTAssertEqual(batch(padded, [0, 1, 2], epoch: 0).shape, [3, 3, 32, 32])
        let cropped = try BatchMaker(images: images, normalization: nil, augmentation: Augmentation(crop: RandomCrop(size: 28)), seed: 1)
        XCTAssertEqual(cropped.imageShape, [3, 28, 28])
        XCTAssertEqual(batch(cropped, [0, 1], epoch: 0).shape, [2, 3, 28, 28])
        XCTAssertEqual(batch(cropped, [0, 1], epoch: nil).shape, [2, 3, 28, 28], "validation: the centre crop")
        XCTAssertThrowsError(try BatchMaker(images: images, normalization: nil,
                                            augmentation: Augmentation(crop: RandomCrop(size: 36, padding: 4)), seed: 1)) {
            XCTAssertEqual("\($0)", "random crop of 36 (padding 4) does not fit 32x32 images: the size must lie in 1...32 "
                + "(validation takes the centre crop)")
        }
        let gray = SyntheticShapes.make(count: 2, seed: 1)
        XCTAssertThrowsError(try BatchMaker(images: gray, normalization: nil, augmentation: Augmentation(lighting: PCALighting(alphaStd: 0.1)),
                                            seed: 1)) {
            XCTAssertEqual("\($0)", "lighting (PCA) jitter needs RGB images, these have 1 channel(s)")
        }
    }

    func testASampleIsAPureFunctionOfSeedEpochAndIndex() throws {
        let images = SyntheticShapes.makeColor(count: 16, seed: 1, stream: "t")
        let normalization = try Normalization(mean: CIFAR10.mean, std: CIFAR10.std, channels: 3)
        let maker = try BatchMaker(images: images, normalization: normalization, augmentation: full, seed: 7)
        let a = batch(maker, [3, 9, 12], epoch: 2), b = batch(maker, [3, 9, 12], epoch: 2)
        XCTAssertEqual(a.input, b.input, "bitwise the same")
        // The same sample in another batch, at another position, comes out the same.
        let alone = batch(maker, [12], epoch: 2)
        XCTAssertEqual(alone.input, Array(a.input[(2 * 3072)...]))
        // Another epoch or seed draws other crops, flips and lighting.
        XCTAssertNotEqual(batch(maker, [3, 9, 12], epoch: 3).input, a.input)
        let otherSeed = try BatchMaker(images: images, normalization: normalization, augmentation: full, seed: 8)
        XCTAssertNotEqual(batch(otherSeed, [3, 9, 12], epoch: 2).input, a.input)
        // Every sample of an epoch differs from the same sample in the next epoch.
        for index in 0..<16 {
            XCTAssertNotEqual(batch(maker, [index], epoch: 0).input, batch(maker, [index], epoch: 1).input, "sample \(index)")
        }
    }

    func testFlipTwiceIsTheIdentity() {
        var image = (0..<(3 * 5 * 7)).map(Float.init)
        let original = image
        image.withUnsafeMutableBufferPointer { HorizontalFlip.apply($0.baseAddress!, channels: 3, height: 5, width: 7) }
        XCTAssertEqual(Array(image[0..<7]), [6, 5, 4, 3, 2, 1, 0])
        XCTAssertEqual(Array(image[98..<105]), [104, 103, 102, 101, 100, 99, 98])
        image.withUnsafeMutableBufferPointer { HorizontalFlip.apply($0.baseAddress!, channels: 3, height: 5, width: 7) }
        XCTAssertEqual(image, original)
    }

    /// Pad 4, crop 32 (and flip): every output pixel is the source pixel at one offset in
    /// −4…4 (mirrored when flipped), or exactly 0 where the window covers the padding.
    func testCropStaysInBoundsAndPadsWithZeros() throws {
        let images = positional(count: 1)
        let maker = try BatchMaker(images: images, normalization: nil,
                                   augmentation: Augmentation(crop: RandomCrop(size: 32, padding: 4), horizontalFlip: true), seed: 3)
        func expected(top: Int, left: Int, flipped: Bool) -> [Float] {
            var image = [Float](repeating: 0, count: 3072)
            for c in 0..<3 {
                for y in 0..<32 {
                    for x in 0..<32 {
                        let sy = y + top, sx = (flipped ? 31 - x : x) + left
                        if (0..<32).contains(sy) && (0..<32).contains(sx) { image[c * 1024 + y * 32 + x] = Float(c * 1024 + sy * 32 + sx + 1) / 4096 }
                    }
                }
            }
            return image
        }
        var candidates: [(top: Int, left: Int, flipped: Bool, image: [Float])] = []
        for top in -4...4 { for left in -4...4 { for flipped in [false, true] {
            candidates.append((top, left, flipped, expected(top: top, left: left, flipped: flipped)))
        } } }
        var tops = Set<Int>(), lefts = Set<Int>(), flips = Set<Bool>()
        for epoch in 0..<150 {
            let out = batch(maker, [0], epoch: epoch).input
            let matches = candidates.filter { $0.image == out }
            guard matches.count == 1, let match = matches.first else { return XCTFail("epoch \(epoch): no single window matches") }
            tops.insert(match.top)
            lefts.insert(match.left)
            flips.insert(match.flipped)
        }
        XCTAssertEqual(tops, Set(-4...4), "every vertical offset is drawn")
        XCTAssertEqual(lefts, Set(-4...4), "every horizontal offset is drawn")
        XCTAssertEqual(flips, [true, false])
    }

    func testRandomCropFromALargerImageAndCentreCropForValidation() throws {
        let images = positional(count: 1)
        let maker = try BatchMaker(images: images, normalization: nil, augmentation: Augmentation(crop: RandomCrop(size: 28)), seed: 3)
        var origins = Set<Int>()
        for epoch in 0..<100 {
            let out = batch(maker, [0], epoch: epoch).input
            let origin = Int((out[0] * 4096).rounded()) - 1
            origins.insert(origin)
            XCTAssertTrue((0...4).contains(origin / 32) && (0...4).contains(origin % 32))
            XCTAssertEqual(out[27 * 28 + 27], Float(origin + 27 * 32 + 27 + 1) / 4096)
        }
        XCTAssertGreaterThan(origins.count, 10)
        // Validation: CenterCrop(28) of 32 starts at (2, 2).
        let validation = batch(maker, [0], epoch: nil).input
        XCTAssertEqual(validation[0], Float(2 * 32 + 2 + 1) / 4096)
        XCTAssertEqual(validation[2 * 784 + 27 * 28 + 27], Float(2048 + 29 * 32 + 29 + 1) / 4096)
        // torchvision rounds (H − size)/2 half to even: 33 → 28 starts at 2, 35 → 28 at 4 (3.5 → 4).
        XCTAssertEqual(RandomCrop(size: 28).centerOrigin(height: 33, width: 35).top, 2)
        XCTAssertEqual(RandomCrop(size: 28).centerOrigin(height: 33, width: 35).left, 4)
    }

    func testLightingMatchesAHandComputedShift() {
        let lighting = PCALighting(alphaStd: 0.1)
        // rgb[i] = Σⱼ eigvec[i][j]·αⱼ·eigval[j] with α = (0.1, −0.2, 0.3), computed with NumPy.
        let shift = lighting.shift(alpha: SIMD3(0.1, -0.2, 0.3))
        XCTAssertEqual(shift[0], -0.0145061, accuracy: 1e-7)
        XCTAssertEqual(shift[1], -0.01371438, accuracy: 1e-7)
        XCTAssertEqual(shift[2], -0.00951345, accuracy: 1e-7)
        // Drawn: α = alphaStd · three normals of the sample's stream, added to every pixel of its channel.
        let images = LabeledImages(name: "flat", channels: 3, height: 2, width: 2, classes: 2,
                                   pixels: [Float](repeating: 0.5, count: 12), labels: [1])
        let maker = try! BatchMaker(images: images, normalization: nil, augmentation: Augmentation(lighting: lighting), seed: 11)
        var random = Augmentation.stream(seed: 11, epoch: 4, sample: 0)
        let alpha = SIMD3(random.normal(), random.normal(), random.normal()) * 0.1
        let expected = lighting.shift(alpha: alpha)
        let out = batch(maker, [0], epoch: 4).input
        for c in 0..<3 { for i in 0..<4 { XCTAssertEqual(out[c * 4 + i], 0.5 + expected[c]) } }
        XCTAssertNotEqual(expected, .zero)
    }

    func testValidationBatchesAreNotAugmented() throws {
        let images = SyntheticShapes.makeColor(count: 6, seed: 2, stream: "v")
        let normalization = try Normalization(mean: CIFAR10.mean, std: CIFAR10.std, channels: 3)
        let maker = try BatchMaker(images: images, normalization: normalization, augmentation: full, seed: 1)
        let input = Tensor(shape: [0])
        var labels: [Int32] = []
        makeBatch(images, indices: [0, 5, 2], normalization: normalization, into: input, labels: &labels)
        let validation = batch(maker, [0, 5, 2], epoch: nil)
        XCTAssertEqual(validation.input, input.array)
        XCTAssertEqual(validation.labels, labels)
        XCTAssertEqual(labels, [0, 5, 2].map { images.labels[$0] })
        XCTAssertNotEqual(batch(maker, [0, 5, 2], epoch: 0).input, input.array, "training batches are")
    }
}
