import CSPNG
import CTurboJPEG
import Glibc

/// Encodes 8-bit HWC images as JPEG (libjpeg-turbo, 4:2:0 for RGB, progressive optional) or
/// PNG (libspng): what `data pack --resize` re-encodes with and `data make-images` writes.
public enum ImageEncoder {
    public static func jpeg(_ image: DecodedImage, quality: Int, progressive: Bool = false) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw ImageDecodingError("tjInitCompress failed: out of memory") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let subsampling = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_420
        let flags = Int32(TJFLAG_ACCURATEDCT) | (progressive ? Int32(TJFLAG_PROGRESSIVE) : 0)
        let status = image.pixels.withUnsafeBufferPointer {
            tjCompress2(
                handle, $0.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                &output, &size, Int32(subsampling.rawValue), Int32(quality), flags)
        }
        defer { tjFree(output) }
        guard status == 0, let output else {
            throw ImageDecodingError("JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    public static func png(_ image: DecodedImage) throws -> [UInt8] {
        guard let context = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw ImageDecodingError("spng_ctx_new failed: out of memory")
        }
        defer { spng_ctx_free(context) }
        func check(_ status: Int32) throws {
            if status != 0 {
                throw ImageDecodingError("PNG encoding failed: \(String(cString: spng_strerror(status)))")
            }
        }
        try check(spng_set_option(context, SPNG_ENCODE_TO_BUFFER, 1))
        var header = spng_ihdr(
            width: UInt32(image.width), height: UInt32(image.height), bit_depth: 8,
            color_type: UInt8(
                image.channels == 1
                    ? SPNG_COLOR_TYPE_GRAYSCALE.rawValue
                    : SPNG_COLOR_TYPE_TRUECOLOR.rawValue),
            compression_method: 0, filter_method: 0, interlace_method: 0)
        try check(spng_set_ihdr(context, &header))
        let length = image.width * image.height * image.channels
        try image.pixels.withUnsafeBytes {
            try check(
                spng_encode_image(
                    context, $0.baseAddress, length, Int32(SPNG_FMT_PNG.rawValue),
                    Int32(SPNG_ENCODE_FINALIZE.rawValue)))
        }
        var size = 0, error: Int32 = 0
        guard let buffer = spng_get_png_buffer(context, &size, &error) else {
            throw ImageDecodingError("PNG encoding failed: \(String(cString: spng_strerror(error)))")
        }
        defer { free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: size))
    }
}
