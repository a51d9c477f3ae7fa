/// What is known about a data set without loading it: its image shape and classes (what
/// `cnn-dist summary --config` builds the model for), and where its files come from.
public struct DatasetFacts: Equatable, Sendable {
    public let name: String
    /// One image, [C, H, W].
    public let inputShape: [Int]
    public let classes: Int
    /// Read from `data.path`; false for data sets generated in memory.
    public let readsFiles: Bool
    /// What `data.path` must hold, for error messages ("IDX files").
    public let files: String
    /// Files or folders whose presence in `data.path` shows the data set is there.
    public let markers: [String]
    /// Nil where this build loads the data set; else why not, for the error training stops with
    /// before it touches the run directory.
    public let missingLoader: String?
    /// Folders (or packed shards) of JPEG/PNG files, whose image shape comes from the config
    /// (`data.channels`, `data.image_size`) and classes from the folders.
    public var readsImageFiles: Bool { name == "imagefolder" || name == "imagenet" }
}

extension DatasetFacts {
    /// Every data set a config may name, the one table of their shapes and classes.
    public static let all: [DatasetFacts] = [
        DatasetFacts(name: "synthetic", inputShape: [1, 28, 28], classes: 10, readsFiles: false,
                     files: "", markers: [], missingLoader: nil),
        DatasetFacts(name: "mnist", inputShape: [1, 28, 28], classes: 10, readsFiles: true,
                     files: "IDX files", markers: [], missingLoader: nil),
        DatasetFacts(name: "cifar10", inputShape: [3, 32, 32], classes: 10, readsFiles: true,
                     files: "CIFAR-10 binary files (data_batch_1.bin … data_batch_5.bin, test_batch.bin)",
                     markers: (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"],
                     missingLoader: nil),
        DatasetFacts(name: "cifar100", inputShape: [3, 32, 32], classes: 100, readsFiles: true,
                     files: "CIFAR-100 binary files (train.bin, test.bin)", markers: ["train.bin", "test.bin"],
                     missingLoader: nil),
        DatasetFacts(name: "imagenet", inputShape: [3, 224, 224], classes: 1000, readsFiles: true,
                     files: "ImageNet class folders (train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, "
                         + "torchvision's ImageFolder layout) or a packed set (pack.json)",
                     markers: [], missingLoader: nil),
        // Classes 0: as many as the training folder has.
        DatasetFacts(name: "imagefolder", inputShape: [3, 224, 224], classes: 0, readsFiles: true,
                     files: "class folders of JPEG/PNG images (train/<class>/*, val/<class>/*) "
                         + "or a packed set (pack.json)",
                     markers: [], missingLoader: nil),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> DatasetFacts? { all.first { $0.name == name } }
}

extension DatasetFacts {
    /// The per-channel normalisation a data set gets when the config names none: its documented
    /// statistics, or 0.5 / 0.5 (pixels to [-1, 1]) where it has none.
    public var defaultNormalization: (mean: [Float], std: [Float]) {
        switch name {
        case "mnist": return ([MNIST.mean], [MNIST.std])
        case "cifar10": return (CIFAR10.mean, CIFAR10.std)
        case "cifar100": return (CIFAR100.mean, CIFAR100.std)
        case "imagenet": return (ImageNet.mean, ImageNet.std)
        default: return (Array(repeating: 0.5, count: inputShape[0]), Array(repeating: 0.5, count: inputShape[0]))
        }
    }
}

/// ImageNet's published per-channel statistics (torchvision's `Normalize` for its models).
public enum ImageNet {
    public static let mean: [Float] = [0.485, 0.456, 0.406]
    public static let std: [Float] = [0.229, 0.224, 0.225]
}
