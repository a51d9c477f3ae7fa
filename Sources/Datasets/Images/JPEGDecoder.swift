import CTurboJPEG

/// Decodes JPEG files with libjpeg-turbo's TurboJPEG API: baseline and progressive, gray,
/// YCbCr and CMYK/YCCK, optionally at 1/2, 1/4 or 1/8 size in the DCT domain (the IDCT
/// skips the high frequencies, so a 4x smaller decode costs a fraction of a full one; DALI
/// and PIL's draft mode do the same). One decoder per thread: the handle is not thread-safe.
public final class JPEGDecoder {
    private var handle: tjhandle
    /// CMYK samples before conversion, reused.
    private var cmyk: [UInt8] = []

    public init() {
        guard let handle = tjInitDecompress() else { preconditionFailure("tjInitDecompress failed: out of memory") }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    func releaseBuffers() { cmyk = [] }

    /// The header's facts: full size, and whether samples are CMYK.
    public struct Header: Equatable, Sendable {
        public var width: Int
        public var height: Int
        public var isCMYK: Bool
    }

    public func header(_ bytes: UnsafeRawBufferPointer) throws -> Header {
        var (width, height, subsampling, colorspace): (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0
        else {
            throw ImageDecodingError("not a readable JPEG: \(message())")
        }
        guard width > 0, height > 0, Int(width) * Int(height) <= maximumImagePixels else {
            throw ImageDecodingError("JPEG of \(width)x\(height) pixels: outside 1...\(maximumImagePixels) pixels")
        }
        return Header(
            width: Int(width), height: Int(height),
            isCMYK: colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue))
    }

    /// The size of the image decoded at 1/`reduction` (1, 2, 4 or 8), rounded up as libjpeg does.
    public static func scaledSize(_ header: Header, reduction: Int) -> (width: Int, height: Int) {
        ((header.width + reduction - 1) / reduction, (header.height + reduction - 1) / reduction)
    }

    /// Decodes `bytes` at 1/`reduction` size into `image` (reusing its buffer) with `channels`
    /// 1 (luma) or 3 (RGB). Corrupt or truncated data is an error, as in PIL (libjpeg's
    /// warnings would otherwise fill the missing rows with grey).
    public func decode(
        _ bytes: UnsafeRawBufferPointer, reduction: Int = 1, channels: Int,
        into image: inout DecodedImage
    ) throws {
        precondition(
            [1, 2, 4, 8].contains(reduction) && (channels == 1 || channels == 3),
            "reduction \(reduction), channels \(channels)")
        let header = try header(bytes)
        let (width, height) = Self.scaledSize(header, reduction: reduction)
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let flags = Int32(TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
        image.width = width
        image.height = height
        image.channels = channels
        // CMYK converts to RGB in place first (3 bytes a pixel) even when luma is wanted.
        let needed = width * height * (header.isCMYK ? 3 : channels)
        if image.pixels.count < needed { image.pixels = [UInt8](repeating: 0, count: needed) }
        if header.isCMYK {
            if cmyk.count < width * height * 4 { cmyk = [UInt8](repeating: 0, count: width * height * 4) }
            let status = cmyk.withUnsafeMutableBufferPointer {
                tjDecompress2(
                    handle, base, UInt(bytes.count), $0.baseAddress, Int32(width), 0, Int32(height),
                    Int32(TJPF_CMYK.rawValue), flags)
            }
            guard status == 0 else { throw ImageDecodingError("corrupt JPEG: \(message())") }
            let inverted = JPEGMarkers.hasAdobeSegment(bytes)
            image.pixels.withUnsafeMutableBufferPointer { target in
                cmyk.withUnsafeBufferPointer { source in
                    guard let source = source.baseAddress, let base = target.baseAddress else { return }
                    RGBConversion.rgb(fromCMYK: source, pixels: width * height, inverted: inverted, into: base)
                    if channels == 1 {
                        for i in 0..<(width * height) {
                            target[i] = RGBConversion.luma(target[3 * i], target[3 * i + 1], target[3 * i + 2])
                        }
                    }
                }
            }
            return
        }
        let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
        let status = image.pixels.withUnsafeMutableBufferPointer {
            tjDecompress2(
                handle, base, UInt(bytes.count), $0.baseAddress, Int32(width), 0, Int32(height),
                Int32(format.rawValue), flags)
        }
        guard status == 0 else { throw ImageDecodingError("corrupt or truncated JPEG: \(message())") }
    }

    /// The error's text; the handle is then replaced, because after a corrupt file libjpeg-turbo
    /// 2.1's handle can fail the next, valid one (seen with a truncated JPEG followed by a good one).
    private func message() -> String {
        let text = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
        if let fresh = tjInitDecompress() {
            tjDestroy(handle)
            handle = fresh
        }
        return text
    }
}

/// The JPEG segment structure, read only as far as the decoder needs beyond TurboJPEG.
enum JPEGMarkers {
    /// True when an APP14 "Adobe" segment precedes the image data: its CMYK is stored inverted.
    static func hasAdobeSegment(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 2
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xDA || marker == 0xD9 { return false }  // start of scan / end of image
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xEE, offset + 9 <= bytes.count,
                Array(bytes[(offset + 4)..<(offset + 9)]) == Array("Adobe".utf8)
            {
                return true
            }
            offset += 2 + length
        }
        return false
    }
}
