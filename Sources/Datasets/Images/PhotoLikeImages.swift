import Foundation
import TensorCore

/// Images with photographs' statistics for benchmarks and tests of the image pipeline, made
/// from a seed: a 1/f ("pink") texture (octaves of smooth noise, amplitude halving with each
/// doubling of frequency, as natural images' spectra fall), a lit background gradient, and one
/// object per class (an ellipse, box or band of a class-specific hue at a jittered place and
/// size), so a model can learn the classes. Not noise: JPEG compresses them as it does photos.
public enum PhotoLikeImages {
    /// Image `index` of class `label`, `width`×`height`, RGB.
    public static func make(label: Int, classes: Int, index: Int, width: Int, height: Int, seed: UInt64) -> DecodedImage
    {
        var random = RandomGenerator(seed: seed).split("photo").split(UInt64(label)).split(UInt64(index))
        var pixels = [Float](repeating: 0, count: width * height * 3)
        // Background: a gradient between two random colours, lit from a random side.
        let top = SIMD3<Float>(random.uniform(0.2, 0.9), random.uniform(0.2, 0.9), random.uniform(0.2, 0.9))
        let bottom = SIMD3<Float>(random.uniform(0.05, 0.6), random.uniform(0.05, 0.6), random.uniform(0.05, 0.6))
        let light = random.uniform(-0.3, 0.3)
        // The class's object: hue from the label, shape from label mod 3.
        let hue = Float(label) / Float(max(classes, 1))
        let color = SIMD3<Float>(
            0.5 + 0.45 * cosine(hue), 0.5 + 0.45 * cosine(hue - 1 / 3), 0.5 + 0.45 * cosine(hue - 2 / 3))
        let (cx, cy) = (random.uniform(0.3, 0.7) * Float(width), random.uniform(0.3, 0.7) * Float(height))
        let (rx, ry) = (random.uniform(0.12, 0.3) * Float(width), random.uniform(0.12, 0.3) * Float(height))
        // Luminance texture, and a weaker one per colour channel (photos' grain is not grey only).
        let texture = pinkNoise(width: width, height: height, random: &random)
        // Clutter: boxes of random colours behind the object, for the edges photographs are full of.
        let clutter = (0..<8).map { _ in
            (
                x: random.uniform(0, 1) * Float(width), y: random.uniform(0, 1) * Float(height),
                w: random.uniform(0.05, 0.3) * Float(width), h: random.uniform(0.05, 0.3) * Float(height),
                color: SIMD3<Float>(random.uniform(0, 1), random.uniform(0, 1), random.uniform(0, 1))
            )
        }
        let tints = (0..<3).map { _ in pinkNoise(width: width, height: height, random: &random) }
        for y in 0..<height {
            let t = Float(y) / Float(max(height - 1, 1))
            for x in 0..<width {
                let s = Float(x) / Float(max(width - 1, 1))
                var value = top * (1 - t) + bottom * t
                value *= 1 + light * (s - 0.5)
                for box in clutter where abs(Float(x) - box.x) < box.w && abs(Float(y) - box.y) < box.h {
                    value = value * 0.4 + box.color * 0.6
                }
                let dx = (Float(x) - cx) / rx, dy = (Float(y) - cy) / ry
                let inside: Float
                switch label % 3 {
                case 0: inside = smoothStep(1 - (dx * dx + dy * dy))
                case 1: inside = smoothStep(1 - max(abs(dx), abs(dy)))
                default: inside = smoothStep(1 - abs(dx - dy) * 2) * smoothStep(1 - abs(dx + dy) / 2)
                }
                value = value * (1 - inside) + color * inside
                let grain = texture[y * width + x]
                for c in 0..<3 {
                    pixels[(y * width + x) * 3 + c] = value[c] * (1 + 0.5 * grain) + 0.08 * tints[c][y * width + x]
                }
            }
        }
        return DecodedImage(
            width: width, height: height, channels: 3,
            pixels: pixels.map { UInt8(min(max($0 * 255, 0), 255).rounded()) })
    }

    static func cosine(_ turn: Float) -> Float { Float(cos(Double(turn) * 2 * .pi)) }

    static func smoothStep(_ x: Float) -> Float {
        let t = min(max(x * 8, 0), 1)
        return t * t * (3 - 2 * t)
    }

    /// Sum of octaves of bilinearly interpolated random grids, cells from the image size down to
    /// 1 px, each octave's amplitude 0.8 of the next coarser one's (a spectrum between 1/f and the
    /// flat one of sensor noise, which is what JPEG sees in photographs); roughly in [-1, 1].
    static func pinkNoise(width: Int, height: Int, random: inout RandomGenerator) -> [Float] {
        var result = [Float](repeating: 0, count: width * height)
        var cell = max(width, height), amplitude: Float = 0.5
        while cell >= 1 {
            let columns = width / cell + 2, rows = height / cell + 2
            let grid = (0..<(columns * rows)).map { _ in random.uniform(-1, 1) }
            for y in 0..<height {
                let gy = Float(y) / Float(cell), y0 = Int(gy), fy = gy - Float(y0)
                for x in 0..<width {
                    let gx = Float(x) / Float(cell), x0 = Int(gx), fx = gx - Float(x0)
                    let a = grid[y0 * columns + x0], b = grid[y0 * columns + x0 + 1]
                    let c = grid[(y0 + 1) * columns + x0], d = grid[(y0 + 1) * columns + x0 + 1]
                    result[y * width + x] +=
                        amplitude * ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy)
                }
            }
            cell /= 2
            amplitude *= 0.8
        }
        return result
    }
}
