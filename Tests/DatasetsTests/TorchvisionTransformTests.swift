import Datasets
import Foundation
import TensorCore
import XCTest

/// The image transforms against torchvision's own outputs on fixed inputs
/// (Fixtures/torchvision-transforms.json, made by Fixtures/make_torchvision_references.py with
/// torch 2.15, torchvision 0.29, Pillow 13). Resizes and crops match Pillow to the bit.
final class TorchvisionTransformTests: XCTestCase {
    struct Case: Decodable {
        var shape: [Int]?
        var uint8: [Int]?
        var float: [Float]?
        var top: Int?, left: Int?, height: Int?, width: Int?
        var size: [Int]?
        var rows: [Row]?
        var grayscale_mean: Float?
    }

    struct Row: Decodable {
        var hw: [Int]
        var crop: Int?
        var top_left: [Int]?
        var views: [[Int]]?
        var ijhw: [Int]?
    }

    static let cases: [String: Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/torchvision-transforms.json")
        struct File: Decodable { var cases: [String: Case] }
        // swiftlint:disable:next force_try
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    func fixture(_ name: String) throws -> Case { try XCTUnwrap(Self.cases[name], name) }

    /// HWC bytes → CHW ints, the fixture's layout.
    func chw(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int) -> [Int] {
        (0..<channels).flatMap { c in (0..<(width * height)).map { Int(pixels[$0 * channels + c]) } }
    }

    func resized(_ image: DecodedImage, width: Int, height: Int) -> [Int] {
        let resampler = ImageResampler()
        var out = [UInt8](repeating: 0, count: width * height * image.channels)
        out.withUnsafeMutableBufferPointer {
            resampler.resample(
                image,
                horizontal: .init(
                    box: 0...Double(image.width), origin: 0, bounds: 0..<image.width,
                    outputSize: width, outputs: 0..<width),
                vertical: .init(
                    box: 0...Double(image.height), origin: 0, bounds: 0..<image.height,
                    outputSize: height, outputs: 0..<height),
                into: $0.baseAddress!)
        }
        return out.withUnsafeBufferPointer {
            chw($0.baseAddress!, width: width, height: height, channels: image.channels)
        }
    }

    func testResizeEqualsPillowToTheBit() throws {
        let rgb = TestImages.formulaRGB()
        for (name, shorter) in [("resize_pil_rgb_16", 16), ("resize_pil_rgb_40", 40)] {
            let expected = try fixture(name)
            let size = ImageGeometry.resizedSize(width: 37, height: 23, shorter: shorter)
            XCTAssertEqual([3, size.height, size.width], expected.shape)
            XCTAssertEqual(resized(rgb, width: size.width, height: size.height), expected.uint8, name)
        }
        let gray = try fixture("resize_pil_gray_8"), size = ImageGeometry.resizedSize(width: 19, height: 30, shorter: 8)
        XCTAssertEqual([1, size.height, size.width], gray.shape)
        XCTAssertEqual(resized(TestImages.formulaGray(), width: size.width, height: size.height), gray.uint8)
    }

    /// `F.resized_crop` on a PIL image: crop, then resize the crop alone (taps stop at its edges).
    func testResizedCropEqualsPillowToTheBit() throws {
        let expected = try fixture("resized_crop_pil_rgb")
        let (top, left, height, width) = (3, 5, 15, 20), (outHeight, outWidth) = (11, 13)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        out.withUnsafeMutableBufferPointer {
            ImageResampler().resample(
                TestImages.formulaRGB(),
                horizontal: .init(
                    box: 0...Double(width), origin: left, bounds: left..<(left + width),
                    outputSize: outWidth, outputs: 0..<outWidth),
                vertical: .init(
                    box: 0...Double(height), origin: top, bounds: top..<(top + height),
                    outputSize: outHeight, outputs: 0..<outHeight),
                into: $0.baseAddress!)
        }
        XCTAssertEqual(
            out.withUnsafeBufferPointer { chw($0.baseAddress!, width: outWidth, height: outHeight, channels: 3) },
            expected.uint8)
    }

    func testCenterCropOriginsRoundHalfToEven() throws {
        for row in try XCTUnwrap(try fixture("center_crop_origins").rows) {
            let crop = try XCTUnwrap(row.crop)
            XCTAssertEqual(
                [
                    ImageGeometry.centerOffset(size: row.hw[0], crop: crop),
                    ImageGeometry.centerOffset(size: row.hw[1], crop: crop),
                ],
                row.top_left, "\(row.hw) crop \(crop)")
        }
    }

    /// `evaluate --ten-crop`'s views are torchvision's TenCrop: same order, origins and mirroring.
    func testTenCropViewsAreTorchvisionsTenCrop() throws {
        for row in try XCTUnwrap(try fixture("ten_crop_views").rows) {
            let crop = try XCTUnwrap(row.crop)
            let ours = CropView.tenCrop.map { view -> [Int] in
                let origin = view.origin(height: row.hw[0], width: row.hw[1], crop: crop)
                return [origin.top, origin.left, view.flipped ? 1 : 0]
            }
            XCTAssertEqual(ours, row.views, "\(row.hw) crop \(crop)")
        }
    }

    func testRandomResizedCropFallbackIsTheCentredClosestAspect() throws {
        for row in try XCTUnwrap(try fixture("rrc_fallback").rows) {
            let box = ImageGeometry.fallbackBox(width: row.hw[1], height: row.hw[0], ratio: (3.0 / 4)...(4.0 / 3))
            XCTAssertEqual([box.top, box.left, box.height, box.width], row.ijhw, "\(row.hw)")
        }
    }

    /// Drawn boxes follow torchvision's rules: inside the image, area share in scale, aspect in ratio
    /// (to rounding), and the fallback when nothing fits (scale above 1).
    func testRandomResizedCropDrawsWithinItsRanges() {
        var random = RandomGenerator(seed: 3)
        for _ in 0..<2_000 {
            let box = ImageGeometry.randomResizedBox(
                width: 500, height: 375, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3),
                random: &random)
            XCTAssertTrue(box.top >= 0 && box.left >= 0 && box.top + box.height <= 375 && box.left + box.width <= 500)
            let share = Double(box.width * box.height) / (500 * 375), aspect = Double(box.width) / Double(box.height)
            if box != ImageGeometry.fallbackBox(width: 500, height: 375, ratio: (3.0 / 4)...(4.0 / 3)) {
                XCTAssertTrue(share > 0.07 && share < 1.01 && aspect > 0.72 && aspect < 1.37, "\(box)")
            }
        }
        let never = ImageGeometry.randomResizedBox(
            width: 37, height: 23, scale: 2...3, ratio: (3.0 / 4)...(4.0 / 3), random: &random)
        XCTAssertEqual(never, ImageGeometry.Box(top: 0, left: 3, height: 23, width: 31))
    }

    func testColorJitterPrimitivesMatchTorchvision() throws {
        let rgb = TestImages.formulaRGB(), plane = 37 * 23
        let tensor = (0..<3).flatMap { c in (0..<plane).map { Float(rgb.pixels[$0 * 3 + c]) / 255 } }
        func applied(_ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
            var copy = tensor
            copy.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
            return copy
        }
        func assertClose(_ got: [Float], _ name: String) throws {
            let expected = try XCTUnwrap(try fixture(name).float)
            XCTAssertEqual(got.count, expected.count, name)
            XCTAssertLessThanOrEqual(zip(got, expected).map { abs($0 - $1) }.max() ?? 1, 2e-6, name)
        }
        try assertClose(applied { ColorJitter.adjustBrightness($0, count: 3 * plane, factor: 1.3) }, "brightness_1.3")
        try assertClose(
            applied { ColorJitter.adjustContrast($0, channels: 3, plane: plane, factor: 0.6) }, "contrast_0.6")
        try assertClose(
            applied { ColorJitter.adjustSaturation($0, channels: 3, plane: plane, factor: 1.7) }, "saturation_1.7")
        try assertClose(
            applied { ColorJitter.adjustSaturation($0, channels: 3, plane: plane, factor: 0) }, "saturation_0")
        try assertClose(
            tensor.withUnsafeBufferPointer { t in (0..<plane).map { ColorJitter.grey(t.baseAddress!, $0, plane) } },
            "grayscale")
    }

    /// The whole validation pipeline on a PNG (lossless): decode, centre crop, ToTensor, Normalize
    /// equal torchvision's `Normalize(ToTensor(img))` on the same pixels.
    func testPipelineOnAPNGEqualsToTensorAndNormalize() throws {
        let expected = try XCTUnwrap(try fixture("normalize_imagenet").float), plane = 37 * 23
        let png = TestImages.png(TestImages.formulaRGB().pixels, width: 37, height: 23, format: 2)
        let worker = ImageWorker(
            pipeline: ImagePipeline(
                geometry: .resizeAndCrop(resize: 23, crop: 23, random: false), channels: 3,
                normalization: try Normalization(mean: ImageNet.mean, std: ImageNet.std, channels: 3)))
        var out = [Float](repeating: 0, count: 3 * 23 * 23)
        var random: RandomGenerator?
        try png.withUnsafeBytes { bytes in
            try out.withUnsafeMutableBufferPointer {
                try worker.transform(bytes, random: &random, into: $0.baseAddress!)
            }
        }
        // CenterCrop(23) of width 37 starts at column 7.
        let left = ImageGeometry.centerOffset(size: 37, crop: 23)
        XCTAssertEqual(left, 7)
        var maxError: Float = 0
        for c in 0..<3 {
            for y in 0..<23 {
                for x in 0..<23 {
                    maxError = max(maxError, abs(out[(c * 23 + y) * 23 + x] - expected[c * plane + y * 37 + left + x]))
                }
            }
        }
        XCTAssertLessThanOrEqual(maxError, 1e-6)
    }
}
