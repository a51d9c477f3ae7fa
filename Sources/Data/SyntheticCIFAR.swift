import TensorCore

extension SyntheticShapes {
    /// `count` colour images of 3x32x32 in CIFAR-10's layout: the shapes of the built-in set
    /// drawn at 32x32, each channel scaled by a random tint, so colour says nothing about the
    /// class. For exercising CIFAR-format pipelines and models without the real download.
    public static func makeColor(count: Int, seed: UInt64, stream: String) -> LabeledImages {
        let gray = make(count: count, stream: RandomGenerator(seed: seed).split("synthetic-color").split(stream),
                        imageSize: CIFAR10.side, name: "synthetic-cifar10")
        let plane = CIFAR10.side * CIFAR10.side
        var pixels = [Float](repeating: 0, count: count * 3 * plane)
        let tints = RandomGenerator(seed: seed).split("tint").split(stream)
        for image in 0..<count {
            var random = tints.split(UInt64(image))
            for channel in 0..<3 {
                let tint = random.uniform(0.4, 1.0)
                let target = (image * 3 + channel) * plane
                for i in 0..<plane { pixels[target + i] = gray.pixels[image * plane + i] * tint }
            }
        }
        return LabeledImages(name: "synthetic-cifar10", channels: 3, height: CIFAR10.side, width: CIFAR10.side,
                             classes: gray.classes, pixels: pixels, labels: gray.labels)
    }
}
