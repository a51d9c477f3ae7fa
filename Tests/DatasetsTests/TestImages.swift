import CPNG
import CTurboJPEG
import Datasets
import Foundation
import XCTest

/// Test images with known pixels, encoded by the reference libraries (libjpeg-turbo's
/// compressor, libpng's writer), not by the code under test.
enum TestImages {
    /// The fixture's RGB image: pixel (x, y, c) = (7x + 13y + 71c + (xy mod 29)) mod 256, 37x23.
    static func formulaRGB(width: Int = 37, height: Int = 23) -> DecodedImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { pixels.append(UInt8((x * 7 + y * 13 + c * 71 + (x * y) % 29) % 256)) }
            }
        }
        return DecodedImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// The fixture's grey image: (11x + 5y + (xy mod 17)) mod 256, 19x30.
    static func formulaGray() -> DecodedImage {
        var pixels: [UInt8] = []
        for y in 0..<30 { for x in 0..<19 { pixels.append(UInt8((x * 11 + y * 5 + (x * y) % 17) % 256)) } }
        return DecodedImage(width: 19, height: 30, channels: 1, pixels: pixels)
    }

    /// A smooth RGB image (JPEG's lossy error on it is small): gradients.
    static func smoothRGB(width: Int, height: Int) -> DecodedImage {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                pixels += [
                    UInt8(40 + 160 * x / width), UInt8(30 + 180 * y / height),
                    UInt8(200 - 100 * (x + y) / (width + height)),
                ]
            }
        }
        return DecodedImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// libjpeg-turbo's encoder; `samples` per pixel: 1 (grey), 3 (RGB) or 4 (CMYK as stored).
    static func jpeg(
        _ pixels: [UInt8], width: Int, height: Int, samples: Int, quality: Int = 100,
        subsampling: TJSAMP = TJSAMP_444, progressive: Bool = false
    ) -> [UInt8] {
        let handle = tjInitCompress()!
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = samples == 1 ? TJPF_GRAY : samples == 3 ? TJPF_RGB : TJPF_CMYK
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(
                handle, $0.baseAddress, Int32(width), 0, Int32(height), Int32(format.rawValue), &output, &size,
                Int32(samples == 1 ? TJSAMP_GRAY.rawValue : subsampling.rawValue), Int32(quality),
                Int32(TJFLAG_ACCURATEDCT) | (progressive ? Int32(TJFLAG_PROGRESSIVE) : 0))
        }
        precondition(status == 0, String(cString: tjGetErrorStr2(handle)))
        defer { tjFree(output) }
        return Array(UnsafeBufferPointer(start: output!, count: Int(size)))
    }

    /// libpng's simplified writer. `format`: PNG_FORMAT_FLAG_* bits (alpha 1, colour 2, 16-bit 4,
    /// colour-mapped 8); `pixels` as 8- or 16-bit samples (16-bit in host order); `colormap` for mapped images.
    static func png(
        _ pixels: [UInt8], width: Int, height: Int, format: UInt32, colormap: [UInt8]? = nil,
        colormapEntries: Int = 0
    ) -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        image.colormap_entries = UInt32(colormapEntries)
        var size: png_alloc_size_t = 0
        let call = { (memory: UnsafeMutableRawPointer?) -> Int32 in
            pixels.withUnsafeBytes { buffer in
                if let colormap {
                    return colormap.withUnsafeBytes {
                        png_image_write_to_memory(&image, memory, &size, 0, buffer.baseAddress, 0, $0.baseAddress)
                    }
                }
                return png_image_write_to_memory(&image, memory, &size, 0, buffer.baseAddress, 0, nil)
            }
        }
        precondition(call(nil) != 0, "libpng could not size the image")
        var output = [UInt8](repeating: 0, count: Int(size))
        precondition(output.withUnsafeMutableBytes { call($0.baseAddress) } != 0, "png write failed")
        return Array(output.prefix(Int(size)))
    }

    /// Decodes with the code under test.
    static func decode(_ bytes: [UInt8], channels: Int, reduction: Int = 1) throws -> DecodedImage {
        var image = DecodedImage(width: 0, height: 0, channels: channels, pixels: [])
        try bytes.withUnsafeBytes {
            _ = try ImageDecoder().decode($0, channels: channels, reduction: reduction, into: &image)
        }
        return image
    }

    static func maxDifference(_ a: DecodedImage, _ b: [UInt8]) -> Int {
        zip(a.pixels.prefix(a.width * a.height * a.channels), b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    /// A folder of `classes` × `perClass` photograph-like JPEGs (`train/` and `val/`), for pipeline tests.
    static func imageFolder(
        classes: Int, perClass: Int, validationPerClass: Int = 2, width: Int = 48, height: Int = 40,
        png: Bool = false
    ) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-dist-images-\(UUID().uuidString)")
        for (split, count) in [("train", perClass), ("val", validationPerClass)] {
            for label in 0..<classes {
                let folder = root.appendingPathComponent("\(split)/c\(label)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                for index in 0..<count {
                    let portrait = index % 3 == 2
                    let image = PhotoLikeImages.make(
                        label: label, classes: classes, index: index + (split == "val" ? 1000 : 0),
                        width: portrait ? height : width, height: portrait ? width : height, seed: 5)
                    let bytes = png ? try ImageEncoder.png(image) : try ImageEncoder.jpeg(image, quality: 90)
                    try Data(bytes).write(
                        to: folder.appendingPathComponent(String(format: "img%03d.%@", index, png ? "png" : "jpg")))
                }
            }
        }
        return root
    }
}
