import CSPNG

/// Decodes PNG files with libspng: gray, gray + alpha, RGB, RGBA and palette images at 1, 2,
/// 4, 8 or 16 bits, interlaced or not. Alpha is dropped and 16-bit samples keep their high
/// byte, as Pillow's `convert("RGB")` does. One decoder per thread.
public final class PNGDecoder {
    /// RGBA8 samples before packing to the requested channels, reused.
    private var rgba: [UInt8] = []

    public init() {}

    func releaseBuffers() { rgba = [] }

    /// Decodes `bytes` into `image` (reusing its buffer) with `channels` 1 (luma) or 3 (RGB).
    public func decode(_ bytes: UnsafeRawBufferPointer, channels: Int, into image: inout DecodedImage) throws {
        precondition(channels == 1 || channels == 3, "channels \(channels)")
        guard let context = spng_ctx_new(0) else { preconditionFailure("spng_ctx_new failed: out of memory") }
        defer { spng_ctx_free(context) }
        try check(spng_set_png_buffer(context, bytes.baseAddress, bytes.count))
        try check(spng_set_image_limits(context, 1 << 20, 1 << 20))
        // A corrupt stream could otherwise ask for a huge chunk or text cache.
        try check(spng_set_chunk_limits(context, 64 << 20, 64 << 20))
        var header = spng_ihdr()
        try check(spng_get_ihdr(context, &header))
        let (width, height) = (Int(header.width), Int(header.height))
        guard width > 0, height > 0, width * height <= maximumImagePixels else {
            throw ImageDecodingError("PNG of \(width)x\(height) pixels: outside 1...\(maximumImagePixels) pixels")
        }
        let format = Int32(SPNG_FMT_RGBA8.rawValue)
        var length = 0
        try check(spng_decoded_image_size(context, format, &length))
        if rgba.count < length { rgba = [UInt8](repeating: 0, count: length) }
        try rgba.withUnsafeMutableBytes { try check(spng_decode_image(context, $0.baseAddress, length, format, 0)) }
        image.width = width
        image.height = height
        image.channels = channels
        if image.pixels.count < width * height * channels {
            image.pixels = [UInt8](repeating: 0, count: width * height * channels)
        }
        image.pixels.withUnsafeMutableBufferPointer { target in
            rgba.withUnsafeBufferPointer { source in
                for i in 0..<(width * height) {
                    let (r, g, b) = (source[4 * i], source[4 * i + 1], source[4 * i + 2])
                    if channels == 3 {
                        (target[3 * i], target[3 * i + 1], target[3 * i + 2]) = (r, g, b)
                    } else {
                        target[i] = RGBConversion.luma(r, g, b)
                    }
                }
            }
        }
    }

    private func check(_ status: Int32) throws {
        guard status != 0 else { return }
        throw ImageDecodingError("corrupt or truncated PNG: \(String(cString: spng_strerror(status)))")
    }
}
