import TensorCore

/// torchvision's `ColorJitter(brightness, contrast, saturation)` on float images in [0, 1]
/// (its tensor definitions): each enabled adjustment gets a factor uniform in
/// [max(0, 1 − x), 1 + x], and the adjustments run in a random order. Brightness scales;
/// contrast blends with the image's mean grey level; saturation blends with each pixel's grey;
/// every blend is clamped to [0, 1].
public struct ColorJitter: Equatable, Sendable {
    public var brightness: Float
    public var contrast: Float
    public var saturation: Float

    public init(brightness: Float = 0, contrast: Float = 0, saturation: Float = 0) {
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
    }

    public var isIdentity: Bool { brightness == 0 && contrast == 0 && saturation == 0 }

    public enum Adjustment: Int, CaseIterable, Sendable { case brightness, contrast, saturation }

    /// Draws the order and the factors, then applies them to a [C, H, W] image in place
    /// (contrast and saturation need C = 3; for C = 1 saturation is the identity).
    public func apply(to image: UnsafeMutablePointer<Float>, channels: Int, plane: Int, random: inout RandomGenerator) {
        var order = [Adjustment.brightness, .contrast, .saturation]
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
        for adjustment in order {
            switch adjustment {
            case .brightness where brightness > 0:
                Self.adjustBrightness(image, count: channels * plane, factor: Self.factor(brightness, &random))
            case .contrast where contrast > 0:
                Self.adjustContrast(image, channels: channels, plane: plane, factor: Self.factor(contrast, &random))
            case .saturation where saturation > 0:
                Self.adjustSaturation(image, channels: channels, plane: plane, factor: Self.factor(saturation, &random))
            default: break
            }
        }
    }

    static func factor(_ amount: Float, _ random: inout RandomGenerator) -> Float {
        random.uniform(max(0, 1 - amount), 1 + amount)
    }

    /// `F.adjust_brightness`: x · f, clamped.
    public static func adjustBrightness(_ image: UnsafeMutablePointer<Float>, count: Int, factor: Float) {
        for i in 0..<count { image[i] = min(max(factor * image[i], 0), 1) }
    }

    /// `F.adjust_contrast`: blend with the mean of the grey image.
    public static func adjustContrast(_ image: UnsafeMutablePointer<Float>, channels: Int, plane: Int, factor: Float) {
        var total = 0.0
        for i in 0..<plane { total += Double(channels == 3 ? grey(image, i, plane) : image[i]) }
        let mean = Float(total / Double(plane))
        blend(image, count: channels * plane, factor: factor) { _ in mean }
    }

    /// `F.adjust_saturation`: blend each pixel with its grey level.
    public static func adjustSaturation(_ image: UnsafeMutablePointer<Float>, channels: Int, plane: Int, factor: Float)
    {
        guard channels == 3 else { return }
        for i in 0..<plane {
            let level = grey(image, i, plane), other = (1 - Double(factor)).asFloat
            for c in 0..<3 { image[c * plane + i] = min(max(factor * image[c * plane + i] + other * level, 0), 1) }
        }
    }

    /// `F.rgb_to_grayscale` of pixel `i`: 0.2989 R + 0.587 G + 0.114 B.
    @inline(__always) public static func grey(_ image: UnsafePointer<Float>, _ i: Int, _ plane: Int) -> Float {
        0.2989 * image[i] + 0.587 * image[plane + i] + 0.114 * image[2 * plane + i]
    }

    private static func blend(_ image: UnsafeMutablePointer<Float>, count: Int, factor: Float, other: (Int) -> Float) {
        let otherWeight = (1 - Double(factor)).asFloat
        for i in 0..<count { image[i] = min(max(factor * image[i] + otherWeight * other(i), 0), 1) }
    }
}

private extension Double {
    /// torchvision computes `1.0 - ratio` in Python (double), then the tensor op rounds it to Float.
    var asFloat: Float { Float(self) }
}
