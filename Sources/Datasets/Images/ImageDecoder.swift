/// Decodes JPEG and PNG bytes, told apart by their signature, to 1 or 3 channels; JPEGs
/// optionally reduced in the DCT domain. Holds one decoder of each kind and their buffers:
/// one per thread.
public final class ImageDecoder {
    private let jpeg = JPEGDecoder()
    private let png = PNGDecoder()

    public init() {}

    /// Lets go of the decoders' conversion buffers (after a huge image).
    public func releaseBuffers() {
        jpeg.releaseBuffers()
        png.releaseBuffers()
    }

    /// Full-size width and height without decoding the pixels (for a PNG, its header).
    public func size(_ bytes: UnsafeRawBufferPointer) throws -> (width: Int, height: Int) {
        switch ImageFormat.sniff(bytes) {
        case .jpeg:
            let header = try jpeg.header(bytes)
            return (header.width, header.height)
        case .png:
            // IHDR is the first chunk: width and height are big-endian at offsets 16 and 20.
            guard bytes.count >= 24 else { throw ImageDecodingError("truncated PNG: \(bytes.count) bytes") }
            let width = (16..<20).reduce(0) { $0 << 8 | Int(bytes[$1]) },
                height = (20..<24).reduce(0) { $0 << 8 | Int(bytes[$1]) }
            guard width > 0, height > 0, width * height <= maximumImagePixels else {
                throw ImageDecodingError("PNG of \(width)x\(height) pixels: outside 1...\(maximumImagePixels) pixels")
            }
            return (width, height)
        case nil:
            throw ImageDecodingError(Self.unknownFormat(bytes))
        }
    }

    /// Decodes `bytes` into `image`; `reduction` (1, 2, 4, 8) applies to JPEGs, PNGs decode full size.
    /// Returns the reduction used.
    @discardableResult
    public func decode(
        _ bytes: UnsafeRawBufferPointer, channels: Int, reduction: Int = 1,
        into image: inout DecodedImage
    ) throws -> Int {
        switch ImageFormat.sniff(bytes) {
        case .jpeg:
            try jpeg.decode(bytes, reduction: reduction, channels: channels, into: &image)
            return reduction
        case .png:
            try png.decode(bytes, channels: channels, into: &image)
            return 1
        case nil:
            throw ImageDecodingError(Self.unknownFormat(bytes))
        }
    }

    static func unknownFormat(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.isEmpty { return "empty file (0 bytes)" }
        let start = bytes.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
        return "neither JPEG nor PNG (starts with bytes \(start)); only JPEG and PNG images are read"
    }
}
