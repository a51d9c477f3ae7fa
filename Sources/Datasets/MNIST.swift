import Foundation

/// MNIST in its standard layout: `train-images-idx3-ubyte` + `train-labels-idx1-ubyte` for
/// training and `t10k-*` for validation, each gzip'd or not.
public enum MNIST {
    /// The usual normalisation constants (mean and standard deviation of the training pixels).
    public static let mean: Float = 0.1307
    public static let std: Float = 0.3081

    /// Training and validation sets from `directory`.
    ///
    /// With all four files, `train-*` trains and `t10k-*` validates. With only the two t10k
    /// files (the 10,000-image test set, as shipped in ../shared/data/mnist), the first
    /// `trainSplit` images train and the rest validate. Each file may be gzip'd or not; where
    /// both exist the uncompressed one is read.
    public static func load(directory: String, trainSplit: Int = 8_000) throws -> (train: LabeledImages, validation: LabeledImages) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.fileNotFound(path: directory)
        }
        func find(_ stem: String) -> String? {
            [stem, stem + ".gz"].map { (directory as NSString).appendingPathComponent($0) }
                .first { FileManager.default.fileExists(atPath: $0) }
        }
        let stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        let found = stems.map(find)
        switch (found[0], found[1], found[2], found[3]) {
        case let (trainImages?, trainLabels?, testImages?, testLabels?):
            return (try read(images: trainImages, labels: trainLabels), try read(images: testImages, labels: testLabels))
        case let (nil, nil, testImages?, testLabels?):
            guard trainSplit > 0 else { throw DataError.invalidTrainSplit(trainSplit) }
            let all = try read(images: testImages, labels: testLabels)
            guard all.count > trainSplit else {
                throw DataError.tooFewImages(path: testImages, count: all.count, needed: trainSplit)
            }
            return (all.subset(0..<trainSplit), all.subset(trainSplit..<all.count))
        default:
            // Name what is there, so a half-copied directory is easy to fix.
            let present = zip(stems, found).compactMap { $1 == nil ? nil : ($1! as NSString).lastPathComponent }
            throw DataError.missingFiles(directory: directory, dataset: "MNIST", expected:
                "train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] "
                + "with t10k-labels-idx1-ubyte[.gz], or only the two t10k files (split by data.train_split); found "
                + (present.isEmpty ? "none of them" : present.joined(separator: ", ")))
        }
    }

    static func read(images imagePath: String, labels labelPath: String) throws -> LabeledImages {
        let images = try IDXReader.readImages(path: imagePath)
        let labels = try IDXReader.readLabels(path: labelPath, classes: 10)
        guard images.count == labels.count else {
            throw DataError.countMismatch(images: imagePath, imageCount: images.count, labels: labelPath, labelCount: labels.count)
        }
        // A 256-entry table: exact v/255 for every byte, and one lookup per pixel.
        let table = (0..<256).map { Float($0) / 255 }
        return LabeledImages(name: "mnist", channels: 1, height: images.rows, width: images.columns, classes: 10,
                             pixels: images.pixels.map { table[Int($0)] }, labels: labels)
    }
}
