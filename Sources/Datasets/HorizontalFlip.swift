/// Horizontal flip (torchvision's `RandomHorizontalFlip(0.5)`): mirrors every row of an image.
public enum HorizontalFlip {
    /// The chance a training image is flipped.
    public static let probability: Float = 0.5

    /// Mirrors each row of a [C, H, W] image in place (applying it twice restores the image).
    public static func apply(_ image: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        for row in 0..<(channels * height) {
            let start = image + row * width
            var a = 0, b = width - 1
            while a < b {
                let t = start[a]
                start[a] = start[b]
                start[b] = t
                a += 1
                b -= 1
            }
        }
    }
}
