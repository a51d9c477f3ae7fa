import Foundation
import TensorCore

/// The built-in data set: grayscale drawings (28x28 by default) of ten shapes, a pure
/// function of the seed.
///
/// Each image is drawn from strokes (anti-aliased capsules, a ring, dots) at a random
/// position, size, rotation, thickness and ink intensity, with up to two short clutter
/// strokes that every class gets alike. The strokes are blended over a background whose
/// level brings the image's mean intensity to a random target drawn the same way for all
/// classes, then noise is added: a model has to learn shapes, not brightness or a pixel.
public enum SyntheticShapes {
    public static let classNames = ["horizontal bar", "vertical bar", "plus", "cross", "ring",
                                    "triangle", "corner", "diagonal", "two dots", "square"]

    /// `count` images; image i is drawn from the stream seed → "synthetic" → i alone, so the
    /// set does not depend on the thread count and a prefix of a larger set is the smaller set.
    public static func make(count: Int, seed: UInt64, imageSize: Int = 28, name: String = "synthetic") -> LabeledImages {
        make(count: count, stream: RandomGenerator(seed: seed).split("synthetic"), imageSize: imageSize, name: name)
    }

    /// Training and validation sets from the streams seed → "synthetic" → "train" and
    /// → "validation": different draws (no image of one is in the other), both from the seed.
    public static func load(trainCount: Int, validationCount: Int, seed: UInt64, imageSize: Int = 28)
        -> (train: LabeledImages, validation: LabeledImages) {
        let base = RandomGenerator(seed: seed).split("synthetic")
        return (make(count: trainCount, stream: base.split("train"), imageSize: imageSize, name: "synthetic"),
                make(count: validationCount, stream: base.split("validation"), imageSize: imageSize, name: "synthetic"))
    }

    static func make(count: Int, stream: RandomGenerator, imageSize: Int, name: String) -> LabeledImages {
        precondition(count >= 0 && imageSize >= 4, "synthetic shapes: count \(count), image size \(imageSize)")
        let plane = imageSize * imageSize
        var pixels = [Float](repeating: 0, count: count * plane)
        var labels = [Int32](repeating: 0, count: count)
        pixels.withUnsafeMutableBufferPointer { pixelBuffer in
            labels.withUnsafeMutableBufferPointer { labelBuffer in
                guard let pixelBase = pixelBuffer.baseAddress, let labelBase = labelBuffer.baseAddress else { return }
                // Chunks of whole images; which thread draws an image never changes its stream.
                Parallel.forEachRange(count, minimumChunk: 64) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: plane) { distance in
                        for i in range {
                            var random = stream.split(UInt64(i))
                            let label = random.nextInt(below: classNames.count)
                            labelBase[i] = Int32(label)
                            draw(label, size: imageSize, random: &random, distance: distance.baseAddress!,
                                 into: pixelBase + i * plane)
                        }
                    }
                }
            }
        }
        return LabeledImages(name: name, channels: 1, height: imageSize, width: imageSize,
                             classes: classNames.count, pixels: pixels, labels: labels)
    }

    /// One stroke primitive in pixel coordinates: a capsule from a to b when `radius` is 0,
    /// otherwise a ring of that radius around a (a dot is a zero-length capsule).
    struct Stroke {
        var ax: Float, ay: Float, bx: Float, by: Float
        var radius: Float = 0
        var halfWidth: Float
    }

    /// The class's strokes in unit coordinates ([-1, 1] around the shape's centre):
    /// segments (ax, ay, bx, by), rings (x, y, r), dots (x, y).
    static func template(_ label: Int) -> (segments: [(Float, Float, Float, Float)], ring: Float?, dots: [(Float, Float)]) {
        switch label {
        case 0: return ([(-1, 0, 1, 0)], nil, [])
        case 1: return ([(0, -1, 0, 1)], nil, [])
        case 2: return ([(-1, 0, 1, 0), (0, -1, 0, 1)], nil, [])
        case 3: return ([(-0.8, -0.8, 0.8, 0.8), (-0.8, 0.8, 0.8, -0.8)], nil, [])
        case 4: return ([], 0.85, [])
        case 5: return ([(0, -0.9, 0.9, 0.75), (0.9, 0.75, -0.9, 0.75), (-0.9, 0.75, 0, -0.9)], nil, [])
        case 6: return ([(-0.7, -0.9, -0.7, 0.8), (-0.7, 0.8, 0.8, 0.8)], nil, [])
        case 7: return ([(-0.8, -0.8, 0.8, 0.8)], nil, [])
        case 8: return ([], nil, [(-0.6, 0), (0.6, 0)])
        default: return ([(-0.75, -0.75, 0.75, -0.75), (0.75, -0.75, 0.75, 0.75),
                          (0.75, 0.75, -0.75, 0.75), (-0.75, 0.75, -0.75, -0.75)], nil, [])
        }
    }

    static func draw(_ label: Int, size: Int, random: inout RandomGenerator,
                     distance: UnsafeMutablePointer<Float>, into image: UnsafeMutablePointer<Float>) {
        let strokes = strokes(label, size: size, random: &random)
        signedDistance(to: strokes, size: size, into: distance)
        shade(distance: distance, size: size, random: &random, into: image)
    }

    /// The class's template placed with a random scale, offset, rotation and thickness, plus
    /// clutter strokes; in pixels.
    static func strokes(_ label: Int, size: Int, random: inout RandomGenerator) -> [Stroke] {
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
        let shape = template(label)
        var strokes: [Stroke] = []
        strokes.reserveCapacity(6)
        for (ax, ay, bx, by) in shape.segments {
            let a = place(ax, ay), b = place(bx, by)
            strokes.append(Stroke(ax: a.0, ay: a.1, bx: b.0, by: b.1, halfWidth: thickness / 2))
        }
        if let ring = shape.ring {
            let c = place(0, 0)
            strokes.append(Stroke(ax: c.0, ay: c.1, bx: c.0, by: c.1, radius: ring * scale, halfWidth: thickness / 2))
        }
        for (x, y) in shape.dots {
            let c = place(x, y)
            strokes.append(Stroke(ax: c.0, ay: c.1, bx: c.0, by: c.1, halfWidth: 1.2 * thickness))
        }
        // Clutter: up to two short strokes anywhere, drawn the same way in every class.
        for _ in 0..<random.nextInt(below: 3) {
            let x = random.uniform(0.1, 0.9) * extent, y = random.uniform(0.1, 0.9) * extent
            let direction = random.uniform(0, 2 * Float.pi), length = random.uniform(0.08, 0.18) * extent
            strokes.append(Stroke(ax: x, ay: y, bx: x + length * Foundation.cos(direction),
                                  by: y + length * Foundation.sin(direction), halfWidth: thickness / 2))
        }
        return strokes
    }

    /// Signed distance of every pixel to the nearest stroke edge (+∞ far from all strokes).
    static func signedDistance(to strokes: [Stroke], size: Int, into distance: UnsafeMutablePointer<Float>) {
        let plane = size * size
        // Signed distance to the nearest stroke edge, visiting only each stroke's bounding box.
        // The per-pixel loops use while loops and plain comparisons rather than ranges and
        // min/max, which debug builds do not inline: 20k images stay well under a second there.
        distance.update(repeating: .infinity, count: plane)
        for stroke in strokes {
            let reach = stroke.radius + stroke.halfWidth + 1
            let x0 = max(0, Int((min(stroke.ax, stroke.bx) - reach).rounded(.down)))
            let x1 = min(size - 1, Int((max(stroke.ax, stroke.bx) + reach).rounded(.up)))
            let y0 = max(0, Int((min(stroke.ay, stroke.by) - reach).rounded(.down)))
            let y1 = min(size - 1, Int((max(stroke.ay, stroke.by) + reach).rounded(.up)))
            guard x0 <= x1, y0 <= y1 else { continue }
            let (ax, ay, radius, halfWidth) = (stroke.ax, stroke.ay, stroke.radius, stroke.halfWidth)
            let dx = stroke.bx - ax, dy = stroke.by - ay
            let inverseLength = 1 / max(dx * dx + dy * dy, 1e-6)
            var y = y0
            while y <= y1 {
                let py = Float(y) + 0.5 - ay
                let row = distance + y * size
                var x = x0
                while x <= x1 {
                    let px = Float(x) + 0.5 - ax
                    var t = (px * dx + py * dy) * inverseLength
                    t = t < 0 ? 0 : (t > 1 ? 1 : t)
                    let ex = px - t * dx, ey = py - t * dy
                    var d = (ex * ex + ey * ey).squareRoot()
                    if radius > 0 { d = d > radius ? d - radius : radius - d }
                    d -= halfWidth
                    if d < row[x] { row[x] = d }
                    x += 1
                }
                y += 1
            }
        }
    }

    /// The image: anti-aliased coverage of the strokes over a background that evens out the mean
    /// intensity, with noise.
    static func shade(distance: UnsafeMutablePointer<Float>, size: Int, random: inout RandomGenerator,
                      into image: UnsafeMutablePointer<Float>) {
        let plane = size * size
        // Coverage with a one-pixel anti-aliased edge.
        var ink: Float = 0
        for i in 0..<plane {
            let raw = 0.5 - distance[i]
            let value: Float = raw <= 0 ? 0 : (raw >= 1 ? 1 : raw)
            image[i] = value
            ink += value
        }
        // The image's mean intensity is drawn the same way for every class: the stroke is
        // blended over a background whose level makes up the difference, so brightness says
        // nothing about the class (only very inky drawings overshoot the target a little).
        let peak = random.uniform(0.6, 1.0)
        let inkMean = peak * ink / Float(plane)
        let targetMean = random.uniform(0.16, 0.30)
        let background = max(0, (targetMean - inkMean) / (1 - inkMean))
        let noise = random.uniform(0.05, 0.25)
        let strokeGain = (1 - background) * peak
        // Approximately Gaussian noise, from a SplitMix64 stream seeded by this image's
        // generator and run inline: each 64-bit draw gives four 16-bit uniforms whose sum
        // (Irwin–Hall, mean 2, variance 1/3) is rescaled to unit variance. Per-pixel Box–Muller
        // through RandomGenerator dominated the generation time.
        var state = random.next()
        let noiseScale = noise * 1.732_050_8 / 65_536
        for i in 0..<plane {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let sum = Float(z & 0xFFFF) + Float((z >> 16) & 0xFFFF) + Float((z >> 32) & 0xFFFF) + Float(z >> 48)
            let value = background + strokeGain * image[i] + (sum - 131_072) * noiseScale
            image[i] = value <= 0 ? 0 : (value >= 1 ? 1 : value)
        }
    }
}
