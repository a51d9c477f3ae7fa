/// Channel conversions with Pillow's integer formulas, so a decoded image matches what
/// torchvision's loader (`Image.open(f).convert("RGB")` or `.convert("L")`) sees.
enum RGBConversion {
    /// Pillow's MULDIV255: a·b / 255, rounded, for a and b in 0...255.
    @inline(__always) static func multiplyDivide255(_ a: Int, _ b: Int) -> UInt8 {
        let t = a * b + 128
        return UInt8(truncatingIfNeeded: ((t >> 8) + t) >> 8)
    }

    /// ITU-R 601-2 luma with Pillow's fixed-point weights (`L = R·299/1000 + G·587/1000 + B·114/1000`).
    @inline(__always) static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        UInt8(truncatingIfNeeded: (Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471 + 0x8000) >> 16)
    }

    /// CMYK → RGB as Pillow converts ink amounts: with nk = 255 − K, R = nk − C·nk/255. Adobe's
    /// CMYK JPEGs (Photoshop's, and libjpeg-turbo's) store 255 − ink: `inverted` says so.
    static func rgb(
        fromCMYK source: UnsafePointer<UInt8>, pixels: Int, inverted: Bool,
        into target: UnsafeMutablePointer<UInt8>
    ) {
        for i in 0..<pixels {
            @inline(__always) func ink(_ c: Int) -> Int {
                inverted ? 255 - Int(source[4 * i + c]) : Int(source[4 * i + c])
            }
            let paper = 255 - ink(3)
            for c in 0..<3 { target[3 * i + c] = UInt8(max(0, paper - Int(multiplyDivide255(ink(c), paper)))) }
        }
    }
}
