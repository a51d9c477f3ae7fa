import TensorCore

/// torchvision's `RandomCrop(size, padding)` for training: the image is zero-padded by
/// `padding` on every side (before normalisation, so padding is black: 0 in [0, 1]) and a
/// size×size window is taken at a uniformly random offset. With no padding and a smaller
/// `size` it is the random crop from a larger image (AlexNet's 224 of 256); validation takes
/// the centre window of the unpadded image instead (`CenterCrop(size)`).
public struct RandomCrop: Equatable, Sendable {
    public var size: Int
    public var padding: Int

    public init(size: Int, padding: Int = 0) {
        self.size = size
        self.padding = padding
    }

    /// The window's top-left corner in image coordinates (negative inside the padding): top
    /// and then left, each uniform over the padded image's possible offsets, drawn in that
    /// order as torchvision draws them.
    public func randomOrigin(height: Int, width: Int, random: inout RandomGenerator) -> (top: Int, left: Int) {
        let top = random.nextInt(below: height + 2 * padding - size + 1)
        let left = random.nextInt(below: width + 2 * padding - size + 1)
        return (top - padding, left - padding)
    }

    /// CenterCrop's corner: round((side − size) / 2) with Python's round half to even.
    public func centerOrigin(height: Int, width: Int) -> (top: Int, left: Int) {
        (Int((Double(height - size) / 2).rounded(.toNearestOrEven)), Int((Double(width - size) / 2).rounded(.toNearestOrEven)))
    }

    /// Copies the size×size window at (top, left) of each channel of a [C, H, W] image into
    /// `target` ([C, size, size]); pixels of the window outside the image are 0.
    public func copy(_ source: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                     top: Int, left: Int, into target: UnsafeMutablePointer<Float>) {
        let x0 = max(0, -left), x1 = min(size, width - left)  // window columns inside the image
        for c in 0..<channels {
            for y in 0..<size {
                let row = target + (c * size + y) * size, sourceY = top + y
                guard sourceY >= 0 && sourceY < height && x0 < x1 else {
                    row.update(repeating: 0, count: size)
                    continue
                }
                if x0 > 0 { row.update(repeating: 0, count: x0) }
                (row + x0).update(from: source + (c * height + sourceY) * width + left + x0, count: x1 - x0)
                if x1 < size { (row + x1).update(repeating: 0, count: size - x1) }
            }
        }
    }
}
