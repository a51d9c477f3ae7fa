import CTurboJPEG
import Datasets
import TensorCore
import XCTest

/// Every JPEG and PNG variant decodes to the pixels it was encoded from (exactly for PNG; within
/// JPEG's loss at quality 100 for JPEG), to 1 or 3 channels; bad bytes give errors, never crashes.
final class ImageDecodingTests: XCTestCase {
    let smooth = TestImages.smoothRGB(width: 40, height: 24)

    func testBaselineAndProgressiveJPEGDecodeToTheirPixels() throws {
        let baseline = TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3)
        let progressive = TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3, progressive: true)
        let a = try TestImages.decode(baseline, channels: 3), b = try TestImages.decode(progressive, channels: 3)
        XCTAssertEqual([a.width, a.height, a.channels], [40, 24, 3])
        XCTAssertLessThanOrEqual(TestImages.maxDifference(a, smooth.pixels), 3)
        // The same coefficients, sent in one scan or several: the same pixels.
        XCTAssertEqual(Array(a.pixels.prefix(40 * 24 * 3)), Array(b.pixels.prefix(40 * 24 * 3)))
        // 4:2:0, as cameras write: still close on a smooth image.
        let subsampled = try TestImages.decode(
            TestImages.jpeg(
                smooth.pixels, width: 40, height: 24, samples: 3,
                subsampling: TJSAMP_420), channels: 3)
        XCTAssertLessThanOrEqual(TestImages.maxDifference(subsampled, smooth.pixels), 6)
    }

    func testGrayscaleJPEGToOneAndThreeChannels() throws {
        let grey = smooth.pixels.enumerated().filter { $0.offset % 3 == 1 }.map(\.element)
        let bytes = TestImages.jpeg(grey, width: 40, height: 24, samples: 1)
        let one = try TestImages.decode(bytes, channels: 1), three = try TestImages.decode(bytes, channels: 3)
        XCTAssertLessThanOrEqual(TestImages.maxDifference(one, grey), 2)
        XCTAssertEqual(three.channels, 3)
        for i in 0..<(40 * 24) {
            XCTAssertEqual(three.pixels[3 * i], one.pixels[i])
            XCTAssertEqual(three.pixels[3 * i + 2], one.pixels[i])
        }
        // A colour JPEG read as grey: luma, within a level of Pillow's L = 0.299 R + 0.587 G + 0.114 B.
        let colour = try TestImages.decode(
            TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3), channels: 1)
        let luma = (0..<(40 * 24)).map { i -> UInt8 in
            let (r, g, b) = (
                Double(smooth.pixels[3 * i]), Double(smooth.pixels[3 * i + 1]), Double(smooth.pixels[3 * i + 2])
            )
            return UInt8((0.299 * r + 0.587 * g + 0.114 * b).rounded())
        }
        XCTAssertLessThanOrEqual(TestImages.maxDifference(colour, luma), 3)
    }

    /// Adobe CMYK as Photoshop and libjpeg-turbo store it (255 − ink): C = R, M = G, Y = B, K = 255
    /// stored is the ink-free RGB colour; Pillow's conversion gives the RGB back.
    func testCMYKJPEGConvertsToRGBAsPillow() throws {
        var cmyk: [UInt8] = []
        for i in 0..<(40 * 24) {
            cmyk += [smooth.pixels[3 * i], smooth.pixels[3 * i + 1], smooth.pixels[3 * i + 2], 255]
        }
        let bytes = TestImages.jpeg(cmyk, width: 40, height: 24, samples: 4)
        let decoded = try TestImages.decode(bytes, channels: 3)
        XCTAssertLessThanOrEqual(TestImages.maxDifference(decoded, smooth.pixels), 3)
        // Half the black ink halves every channel.
        var inked: [UInt8] = []
        for i in 0..<(40 * 24) {
            inked += [smooth.pixels[3 * i], smooth.pixels[3 * i + 1], smooth.pixels[3 * i + 2], 127]
        }
        let darker = try TestImages.decode(TestImages.jpeg(inked, width: 40, height: 24, samples: 4), channels: 3)
        XCTAssertLessThanOrEqual(
            TestImages.maxDifference(darker, smooth.pixels.map { UInt8((Int($0) * 127 + 127) / 255) }), 3)
        // To grey: the luma of that RGB (it is converted in place first; a one-byte buffer overflowed).
        let grey = try TestImages.decode(bytes, channels: 1)
        let rgb = try TestImages.decode(bytes, channels: 3)
        let luma: [UInt8] = (0..<(40 * 24)).map { (i: Int) -> UInt8 in
            let weighted: Int = Int(rgb.pixels[3 * i]) * 19595 + Int(rgb.pixels[3 * i + 1]) * 38470
                + Int(rgb.pixels[3 * i + 2]) * 7471 + 0x8000
            return UInt8(weighted >> 16)
        }
        XCTAssertEqual(Array(grey.pixels.prefix(40 * 24)), luma)
    }

    /// DCT scaling: 1/2, 1/4, 1/8 size (rounded up), each pixel close to the mean of the block it stands for.
    func testReducedDecodingAveragesBlocks() throws {
        let bytes = TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3)
        for reduction in [2, 4, 8] {
            let image = try TestImages.decode(bytes, channels: 3, reduction: reduction)
            XCTAssertEqual(
                [image.width, image.height], [(40 + reduction - 1) / reduction, (24 + reduction - 1) / reduction])
            for y in 0..<image.height {
                for x in 0..<image.width {
                    for c in 0..<3 {
                        var total = 0
                        for dy in 0..<reduction {
                            for dx in 0..<reduction { total += Int(smooth[x * reduction + dx, y * reduction + dy, c]) }
                        }
                        XCTAssertEqual(
                            Double(image[x, y, c]), Double(total) / Double(reduction * reduction), accuracy: 4,
                            "1/\(reduction) at \(x), \(y), \(c)")
                    }
                }
            }
        }
    }

    /// PNG is lossless: every colour type and depth decodes to exactly its pixels (alpha dropped,
    /// 16-bit to the high byte, palette indices to their colours), as Pillow's convert("RGB").
    func testEveryPNGVariantDecodesExactly() throws {
        let rgb = TestImages.formulaRGB(), n = 37 * 23
        let grey = (0..<n).map { rgb.pixels[3 * $0] }
        func check(_ bytes: [UInt8], expectedRGB: [UInt8], _ what: String) throws {
            let decoded = try TestImages.decode(bytes, channels: 3)
            XCTAssertEqual([decoded.width, decoded.height], [37, 23], what)
            XCTAssertEqual(Array(decoded.pixels.prefix(3 * n)), expectedRGB, what)
        }
        try check(TestImages.png(rgb.pixels, width: 37, height: 23, format: 2), expectedRGB: rgb.pixels, "RGB 8")
        try check(
            TestImages.png(grey, width: 37, height: 23, format: 0), expectedRGB: grey.flatMap { [$0, $0, $0] }, "grey 8"
        )
        let rgba: [UInt8] = (0..<n).flatMap { (i: Int) -> [UInt8] in
            [rgb.pixels[3 * i], rgb.pixels[3 * i + 1], rgb.pixels[3 * i + 2], UInt8(i % 256)]
        }
        try check(
            TestImages.png(rgba, width: 37, height: 23, format: 3), expectedRGB: rgb.pixels, "RGBA 8 (alpha dropped)")
        let greyAlpha: [UInt8] = (0..<n).flatMap { (i: Int) -> [UInt8] in [grey[i], UInt8(255 - i % 256)] }
        try check(
            TestImages.png(greyAlpha, width: 37, height: 23, format: 1), expectedRGB: grey.flatMap { [$0, $0, $0] },
            "grey + alpha 8")
        // 16-bit: sample v · 256 + 200 has high byte v (Pillow keeps it; rounding would give v + 1).
        let wide = rgb.pixels.flatMap { value -> [UInt8] in withUnsafeBytes(of: UInt16(value) * 256 + 200) { Array($0) }
        }
        try check(TestImages.png(wide, width: 37, height: 23, format: 2 | 4), expectedRGB: rgb.pixels, "RGB 16")
        let wideGrey = grey.flatMap { value -> [UInt8] in withUnsafeBytes(of: UInt16(value) * 257) { Array($0) } }
        try check(
            TestImages.png(wideGrey, width: 37, height: 23, format: 4), expectedRGB: grey.flatMap { [$0, $0, $0] },
            "grey 16")
        // Palette: 8 colours, index = (x + y) mod 8.
        let palette: [UInt8] = (0..<8).flatMap { (i: Int) -> [UInt8] in
            [UInt8(i * 30), UInt8(255 - i * 20), UInt8(i * 7 + 3)]
        }
        let indices = (0..<n).map { UInt8(($0 % 37 + $0 / 37) % 8) }
        try check(
            TestImages.png(indices, width: 37, height: 23, format: 2 | 8, colormap: palette, colormapEntries: 8),
            expectedRGB: indices.flatMap { Array(palette[(Int($0) * 3)..<(Int($0) * 3 + 3)]) }, "palette")
        // To one channel: Pillow's luma of the RGB.
        let decodedGrey = try TestImages.decode(
            TestImages.png(rgb.pixels, width: 37, height: 23, format: 2), channels: 1)
        let luma: [UInt8] = (0..<n).map { (i: Int) -> UInt8 in
            let (r, g, b) = (Int(rgb.pixels[3 * i]), Int(rgb.pixels[3 * i + 1]), Int(rgb.pixels[3 * i + 2]))
            let weighted: Int = r * 19595 + g * 38470 + b * 7471 + 0x8000
            return UInt8(weighted >> 16)
        }
        XCTAssertEqual(Array(decodedGrey.pixels.prefix(n)), luma)
    }

    func testBadBytesAreErrorsNamingTheProblem() throws {
        let jpeg = TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3)
        let png = TestImages.png(TestImages.formulaRGB().pixels, width: 37, height: 23, format: 2)
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "empty file"),
            ("text", Array("hello, not an image\n".utf8), "neither JPEG nor PNG"),
            ("truncated JPEG", Array(jpeg.prefix(jpeg.count / 2)), "JPEG"),
            ("JPEG header only", Array(jpeg.prefix(3)), "JPEG"),
            ("truncated PNG", Array(png.prefix(png.count / 2)), "PNG"),
            ("PNG signature only", Array(png.prefix(8)), "PNG"),
        ]
        for (name, bytes, expected) in cases {
            XCTAssertThrowsError(try TestImages.decode(bytes, channels: 3), name) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(name): \(error)")
            }
        }
        // A PNG claiming 100000x100000 pixels is refused before anything that size is allocated.
        var huge = png
        for (offset, byte) in [
            (16, 0x00), (17, 0x01), (18, 0x86), (19, 0xA0), (20, 0x00), (21, 0x01), (22, 0x86), (23, 0xA0),
        ] {
            huge[offset] = UInt8(byte)
        }
        XCTAssertThrowsError(try TestImages.decode(huge, channels: 3))
    }

    /// One decoder reads on after a corrupt file (libjpeg-turbo 2.1's handle failed the next good one).
    func testADecoderRecoversAfterACorruptFile() throws {
        let jpeg = TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3)
        let decoder = ImageDecoder()
        var image = DecodedImage(width: 0, height: 0, channels: 3, pixels: [])
        XCTAssertThrowsError(
            try Array(jpeg.prefix(jpeg.count / 3)).withUnsafeBytes {
                try decoder.decode($0, channels: 3, into: &image)
            })
        XCTAssertNoThrow(try jpeg.withUnsafeBytes { try decoder.decode($0, channels: 3, into: &image) })
        XCTAssertLessThanOrEqual(TestImages.maxDifference(image, smooth.pixels), 3)
    }

    /// Seeded mutations of valid files (bytes flipped, cut, repeated): a clean error or an image, never a crash.
    func testMutatedImagesNeverCrash() throws {
        let seeds = [
            TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3, subsampling: TJSAMP_420),
            TestImages.jpeg(smooth.pixels, width: 40, height: 24, samples: 3, progressive: true),
            TestImages.png(TestImages.formulaRGB().pixels, width: 37, height: 23, format: 2),
        ]
        var random = RandomGenerator(seed: 42)
        var (decoded, refused) = (0, 0)
        for iteration in 0..<600 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0..<(1 + random.nextInt(below: 4)) {
                switch random.nextInt(below: 3) {
                case 0: bytes[random.nextInt(below: bytes.count)] = UInt8(random.nextInt(below: 256))
                case 1: bytes = Array(bytes.prefix(random.nextInt(below: bytes.count + 1)))
                default:
                    let start = random.nextInt(below: max(bytes.count, 1))
                    bytes.insert(contentsOf: bytes[start..<min(start + 16, bytes.count)], at: start)
                }
                if bytes.isEmpty { break }
            }
            do {
                let image = try TestImages.decode(bytes, channels: 3)
                XCTAssertGreaterThan(image.width * image.height, 0)
                decoded += 1
            } catch {
                refused += 1
            }
        }
        XCTAssertEqual(decoded + refused, 600)
        XCTAssertGreaterThan(refused, 100)
    }
}
