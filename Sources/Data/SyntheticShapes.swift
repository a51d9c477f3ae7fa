import Foundation
import TensorCore

/// The built-in data set: 28x28 grayscale drawings of ten shapes, deterministic from the seed.
///
/// Each image is drawn from strokes (anti-aliased capsules and rings) at a random position,
/// size, rotation and thickness, blended over a background chosen so the image's mean
/// intensity is a random level independent of the class, plus Gaussian noise: a model has
/// to learn shapes, not brightness.
public enum SyntheticShapes {
    public static let classNames = ["horizontal bar", "vertical bar", "plus", "cross", "ring",
                                    "triangle", "corner", "diagonal", "two dots", "square"]

    /// `count` images, image i drawn from the stream seed → "synthetic" → i, so the set does
    /// not depend on the thread count.
    public static func make(count: Int, seed: UInt64, imageSize: Int = 28, name: String = "synthetic") -> LabeledImages {
        let plane = imageSize * imageSize
        var pixels = [Float](repeating: 0, count: count * plane)
        var labels = [Int32](repeating: 0, count: count)
        let base = RandomGenerator(seed: seed).split("synthetic")
        pixels.withUnsafeMutableBufferPointer { pixelBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                let pixelBase = pixelBuffer.baseAddress!, labelBase = labelBuffer.baseAddress!
                Parallel.forEachRange(count, minimumChunk: 256) { range in
                    for i in range {
                        var random = base.split(UInt64(i))
                        let label = random.nextInt(below: classNames.count)
                        labelBase[i] = Int32(label)
                        draw(label, size: imageSize, random: &random, into: pixelBase + i * plane)
                    }
                }
            }
        }
        return LabeledImages(name: name, channels: 1, height: imageSize, width: imageSize,
                             classes: classNames.count, pixels: pixels, labels: labels)
    }

    /// Disjoint training and validation sets (different streams of the same seed).
    public static func load(trainCount: Int, validationCount: Int, seed: UInt64)
        -> (train: LabeledImages, validation: LabeledImages) {
        (make(count: trainCount, seed: seed), make(count: validationCount, seed: ~seed))
    }

    /// A stroke from a to b (a capsule), in unit coordinates centred on the shape.
    struct Segment { var ax, ay, bx, by: Float }

    static func strokes(_ label: Int) -> (segments: [Segment], rings: [(x: Float, y: Float, r: Float)], dots: [(x: Float, y: Float)]) {
        switch label {
        case 0: return ([Segment(ax: -1, ay: 0, bx: 1, by: 0)], [], [])
        case 1: return ([Segment(ax: 0, ay: -1, bx: 0, by: 1)], [], [])
        case 2: return ([Segment(ax: -1, ay: 0, bx: 1, by: 0), Segment(ax: 0, ay: -1, bx: 0, by: 1)], [], [])
        case 3: return ([Segment(ax: -0.8, ay: -0.8, bx: 0.8, by: 0.8), Segment(ax: -0.8, ay: 0.8, bx: 0.8, by: -0.8)], [], [])
        case 4: return ([], [(0, 0, 0.85)], [])
        case 5: return ([Segment(ax: 0, ay: -0.9, bx: 0.9, by: 0.75), Segment(ax: 0.9, ay: 0.75, bx: -0.9, by: 0.75),
                         Segment(ax: -0.9, ay: 0.75, bx: 0, by: -0.9)], [], [])
        case 6: return ([Segment(ax: -0.7, ay: -0.9, bx: -0.7, by: 0.8), Segment(ax: -0.7, ay: 0.8, bx: 0.8, by: 0.8)], [], [])
        case 7: return ([Segment(ax: -0.8, ay: -0.8, bx: 0.8, by: 0.8)], [], [])
        case 8: return ([], [], [(-0.6, 0), (0.6, 0)])
        default: return ([Segment(ax: -0.75, ay: -0.75, bx: 0.75, by: -0.75), Segment(ax: 0.75, ay: -0.75, bx: 0.75, by: 0.75),
                          Segment(ax: 0.75, ay: 0.75, bx: -0.75, by: 0.75), Segment(ax: -0.75, ay: 0.75, bx: -0.75, by: -0.75)], [], [])
        }
    }

    static func draw(_ label: Int, size: Int, random: inout RandomGenerator, into image: UnsafeMutablePointer<Float>) {
        let shape = strokes(label)
        let extent = Float(size)
        let scale = random.uniform(0.22, 0.36) * extent            // half-size in pixels
        let centerX = extent / 2 + random.uniform(-0.14, 0.14) * extent
        let centerY = extent / 2 + random.uniform(-0.14, 0.14) * extent
        let angle = random.uniform(-0.35, 0.35)                     // radians
        let thickness = random.uniform(1.2, 3.0)
        let (cosine, sine) = (Foundation.cos(angle), Foundation.sin(angle))
        func place(_ x: Float, _ y: Float) -> (Float, Float) {
            (centerX + scale * (cosine * x - sine * y), centerY + scale * (sine * x + cosine * y))
        }
        var segments = shape.segments.map { s -> (Float, Float, Float, Float) in
            let a = place(s.ax, s.ay), b = place(s.bx, s.by)
            return (a.0, a.1, b.0, b.1)
        }
        // Clutter: up to two short strokes anywhere in the image, in every class alike.
        for _ in 0..<random.nextInt(below: 3) {
            let x = random.uniform(0.1, 0.9) * extent, y = random.uniform(0.1, 0.9) * extent
            let direction = random.uniform(0, 2 * Float.pi), length = random.uniform(0.1, 0.25) * extent
            segments.append((x, y, x + length * Foundation.cos(direction), y + length * Foundation.sin(direction)))
        }
        let rings = shape.rings.map { r -> (Float, Float, Float) in
            let c = place(r.x, r.y)
            return (c.0, c.1, r.r * scale)
        }
        let dots = shape.dots.map { place($0.x, $0.y) }
        var ink: Float = 0
        for y in 0..<size {
            for x in 0..<size {
                let px = Float(x) + 0.5, py = Float(y) + 0.5
                var distance = Float.infinity
                for (ax, ay, bx, by) in segments {
                    let dx = bx - ax, dy = by - ay
                    let t = max(0, min(1, ((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-6)))
                    let ex = px - (ax + t * dx), ey = py - (ay + t * dy)
                    distance = min(distance, (ex * ex + ey * ey).squareRoot() - thickness / 2)
                }
                for (cx, cy, radius) in rings {
                    let d = ((px - cx) * (px - cx) + (py - cy) * (py - cy)).squareRoot()
                    distance = min(distance, abs(d - radius) - thickness / 2)
                }
                for (cx, cy) in dots {
                    distance = min(distance, ((px - cx) * (px - cx) + (py - cy) * (py - cy)).squareRoot() - 1.2 * thickness)
                }
                // One-pixel anti-aliased edge.
                let value = max(0, min(1, 0.5 - distance))
                image[y * size + x] = value
                ink += value
            }
        }
        // Every image gets a mean intensity drawn the same way for all classes: the stroke
        // is blended over a background whose level makes up the difference, so brightness
        // says nothing about the class.
        let peak = random.uniform(0.6, 1.0)
        let inkMean = peak * ink / Float(size * size)
        let targetMean = random.uniform(0.16, 0.30)
        let background = max(0, (targetMean - inkMean) / (1 - inkMean))
        let noise = random.uniform(0.05, 0.25)
        for i in 0..<(size * size) {
            let value = background + (1 - background) * peak * image[i] + noise * random.normal()
            image[i] = max(0, min(1, value))
        }
    }
}
