import Foundation
import TensorCore

/// Where a sample's output pixels come from in its source image, with torchvision's
/// definitions of the crops and resizes.
public enum ImageGeometry: Equatable, Sendable {
    /// `Resize(resize)` (shorter side) then a `crop`×`crop` crop: centred (`CenterCrop`, the
    /// validation transform) or at a random position (`RandomCrop`, AlexNet's training crop).
    case resizeAndCrop(resize: Int, crop: Int, random: Bool)
    /// `RandomResizedCrop(size, scale, ratio)`: a random box of a random area share and aspect,
    /// resized to `size`×`size` (torchvision's ImageNet recipe).
    case randomResizedCrop(size: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>)

    /// The side of the square output.
    public var outputSide: Int {
        switch self {
        case .resizeAndCrop(_, let crop, _): return crop
        case .randomResizedCrop(let size, _, _): return size
        }
    }

    /// torchvision's `Resize(shorter)` output size: the shorter side becomes `shorter`, the longer
    /// `int(shorter · long / short)` (truncated, as torchvision does).
    public static func resizedSize(width: Int, height: Int, shorter: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (shorter, Int(Double(shorter) * Double(height) / Double(width)))
        }
        return (Int(Double(shorter) * Double(width) / Double(height)), shorter)
    }

    /// torchvision's `CenterCrop` origin: `int(round((size - crop) / 2))`, Python's round (half to even).
    public static func centerOffset(size: Int, crop: Int) -> Int {
        Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }

    /// A crop box in source pixels.
    public struct Box: Equatable, Sendable {
        public var top: Int, left: Int, height: Int, width: Int
        public init(top: Int, left: Int, height: Int, width: Int) {
            (self.top, self.left, self.height, self.width) = (top, left, height, width)
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`: up to 10 draws of an area share in `scale`
    /// and a log-uniform aspect in `ratio`; the first box that fits wins, at a uniform position;
    /// else the centre crop of the closest aspect within `ratio`. Rounding is Python's.
    public static func randomResizedBox(
        width: Int, height: Int, scale: ClosedRange<Double>,
        ratio: ClosedRange<Double>, random: inout RandomGenerator
    ) -> Box {
        let area = Double(width * height)
        let logRatio = (Foundation.log(ratio.lowerBound), Foundation.log(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = area * random.uniformDouble(scale.lowerBound, scale.upperBound)
            let aspect = Foundation.exp(random.uniformDouble(logRatio.0, logRatio.1))
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if 0 < w && w <= width && 0 < h && h <= height {
                let top = random.nextInt(below: height - h + 1), left = random.nextInt(below: width - w + 1)
                return Box(top: top, left: left, height: h, width: w)
            }
        }
        return fallbackBox(width: width, height: height, ratio: ratio)
    }

    /// RandomResizedCrop's fallback after 10 misses: the whole image, narrowed to the nearest
    /// aspect within `ratio`, centred (floor division, as torchvision).
    public static func fallbackBox(width: Int, height: Int, ratio: ClosedRange<Double>) -> Box {
        let inputRatio = Double(width) / Double(height)
        var (w, h) = (width, height)
        if inputRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inputRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return Box(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }
}

extension RandomGenerator {
    /// Uniform in [low, high) with 53 random bits.
    mutating func uniformDouble(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * Double(next() >> 11) * 0x1.0p-53
    }
}
