/// An in-memory image classification set: pixels scaled to [0, 1], NCHW per image.
public struct LabeledImages: Sendable {
    public var name: String
    public var channels: Int
    public var height: Int
    public var width: Int
    public var classes: Int
    /// count × channels × height × width values in [0, 1].
    public var pixels: [Float]
    public var labels: [Int32]

    public init(name: String, channels: Int, height: Int, width: Int, classes: Int, pixels: [Float], labels: [Int32]) {
        precondition(pixels.count == labels.count * channels * height * width, "pixels do not match \(labels.count) images")
        self.name = name
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }

    /// The images at positions `range`, in order.
    public func subset(_ range: Range<Int>) -> LabeledImages {
        LabeledImages(name: name, channels: channels, height: height, width: width, classes: classes,
                      pixels: Array(pixels[(range.lowerBound * imageSize)..<(range.upperBound * imageSize)]),
                      labels: Array(labels[range]))
    }
}
