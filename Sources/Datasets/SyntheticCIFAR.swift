import TensorCore

extension SyntheticShapes {
    /// `count` colour images of 3x32x32 in CIFAR-10's layout: the shapes of the built-in set
    /// drawn at 32x32, each channel scaled by a random tint, so colour says nothing about the
    /// class. For exercising CIFAR-format pipelines and models without the real download.
    public static func makeColor(count: Int, seed: UInt64, stream: String) -> LabeledImages {
        colored(count: count, seed: seed, stream: stream, name: "synthetic-cifar10", classes: 10) { label, random in
            ((0..<3).map { _ in random.uniform(0.4, 1.0) }, label)
        }
    }

    /// The palettes of `makeColor100`: ten clearly different RGB tints.
    static let palettes: [[Float]] = [[1, 0.3, 0.3], [0.3, 1, 0.3], [0.3, 0.3, 1], [1, 1, 0.3], [1, 0.3, 1],
                                      [0.3, 1, 1], [1, 1, 1], [0.6, 0.6, 0.6], [1, 0.6, 0.3], [0.5, 0.3, 1]]

    /// `count` colour images of 3x32x32 for CIFAR-100's 100 fine classes: fine class =
    /// 10 × shape + palette (one of ten tints, each channel jittered by ±0.1), so shape and
    /// colour together decide it; the coarse class (`coarseClass`) is fine / 5, five fine
    /// classes to a superclass as in CIFAR-100.
    public static func makeColor100(count: Int, seed: UInt64, stream: String) -> LabeledImages {
        colored(count: count, seed: seed, stream: stream, name: "synthetic-cifar100", classes: 100) { label, random in
            let palette = random.nextInt(below: palettes.count)
            return (palettes[palette].map { min(1, max(0.2, $0 + random.uniform(-0.1, 0.1))) }, 10 * label + palette)
        }
    }

    /// CIFAR-100's superclass of a `makeColor100` fine class.
    public static func coarseClass(_ fine: Int32) -> Int32 { fine / 5 }

    /// The shapes drawn at 32x32, each image's channels scaled by `tint`, which also maps the
    /// shape's class to the image's label.
    static func colored(count: Int, seed: UInt64, stream: String, name: String, classes: Int,
                        tint: (Int, inout RandomGenerator) -> (rgb: [Float], label: Int)) -> LabeledImages {
        let gray = make(count: count, stream: RandomGenerator(seed: seed).split("synthetic-color").split(stream),
                        imageSize: CIFAR10.side, name: name)
        let plane = CIFAR10.side * CIFAR10.side
        var pixels = [Float](repeating: 0, count: count * 3 * plane)
        var labels = gray.labels
        let tints = RandomGenerator(seed: seed).split("tint").split(stream)
        for image in 0..<count {
            var random = tints.split(UInt64(image))
            let (rgb, label) = tint(Int(gray.labels[image]), &random)
            labels[image] = Int32(label)
            for channel in 0..<3 {
                let target = (image * 3 + channel) * plane
                for i in 0..<plane { pixels[target + i] = gray.pixels[image * plane + i] * rgb[channel] }
            }
        }
        return LabeledImages(name: name, channels: 3, height: CIFAR10.side, width: CIFAR10.side,
                             classes: classes, pixels: pixels, labels: labels)
    }
}
