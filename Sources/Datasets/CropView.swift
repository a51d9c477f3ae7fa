/// One of the fixed crops test-time augmentation takes of a validation image: torchvision's
/// `FiveCrop` positions, of the image or of its mirror image. `TenCrop` (AlexNet's test-time
/// crops: "the four corner patches and the centre patch, and their horizontal reflections")
/// is the ten views in `tenCrop`.
public struct CropView: Equatable, Sendable, CustomStringConvertible {
    public enum Position: String, CaseIterable, Sendable {
        case topLeft = "top-left", topRight = "top-right", bottomLeft = "bottom-left"
        case bottomRight = "bottom-right", center
    }

    public var position: Position
    /// Taken from the horizontally flipped image (and so flipped itself).
    public var flipped: Bool

    public init(_ position: Position, flipped: Bool = false) {
        self.position = position
        self.flipped = flipped
    }

    /// torchvision's `TenCrop(size)` order: `five_crop(img) + five_crop(hflip(img))`.
    public static let tenCrop: [CropView] = [false, true].flatMap { flipped in
        [Position.topLeft, .topRight, .bottomLeft, .bottomRight, .center].map { CropView($0, flipped: flipped) }
    }

    public var description: String { position.rawValue + (flipped ? " (mirrored)" : "") }

    /// The crop's origin in the (unflipped) image's pixels. `five_crop` places the corners at
    /// the edges and the centre with `CenterCrop`'s rounding; on the mirror image a crop at
    /// column `x` covers the original's columns from `width − crop − x`.
    public func origin(height: Int, width: Int, crop: Int) -> (top: Int, left: Int) {
        let top: Int, left: Int
        switch position {
        case .topLeft: (top, left) = (0, 0)
        case .topRight: (top, left) = (0, width - crop)
        case .bottomLeft: (top, left) = (height - crop, 0)
        case .bottomRight: (top, left) = (height - crop, width - crop)
        case .center:
            top = ImageGeometry.centerOffset(size: height, crop: crop)
            left = ImageGeometry.centerOffset(size: width, crop: crop)
        }
        return (top, flipped ? width - crop - left : left)
    }
}
