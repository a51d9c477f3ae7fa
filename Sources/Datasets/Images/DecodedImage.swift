/// A decoded image: 8-bit samples, rows top to bottom, channels interleaved (HWC), 1 (gray) or
/// 3 (RGB) channels. `pixels` may be longer than `height * width * channels` (a reused buffer).
public struct DecodedImage: Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(
            pixels.count >= width * height * channels, "\(pixels.count) bytes for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The sample at column `x`, row `y`, channel `c`.
    public subscript(x: Int, y: Int, c: Int) -> UInt8 { pixels[(y * width + x) * channels + c] }
}

/// The file formats the image reader decodes, told apart by their first bytes (not the name).
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png

    /// The format whose signature `bytes` start with, or nil.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= png.count && zip(bytes, png).allSatisfy({ $0 == $1 }) { return .png }
        return nil
    }
}

/// Why an image could not be decoded (the reader adds the file's path).
public struct ImageDecodingError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Images larger than this many pixels are refused before anything is allocated for them: a
/// corrupt header can claim 65535x65535 (12 GiB of RGB), and no training image is that large.
public let maximumImagePixels = 200_000_000
