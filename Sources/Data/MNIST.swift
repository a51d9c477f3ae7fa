import Foundation

/// MNIST in its standard layout: `train-images-idx3-ubyte` + `train-labels-idx1-ubyte` for
/// training and `t10k-*` for validation, each gzip'd or not.
public enum MNIST {
    /// The usual normalisation constants (mean and standard deviation of the training pixels).
    public static let mean: Float = 0.1307
    public static let std: Float = 0.3081

    /// Training and validation sets from `directory`. Where only the t10k files exist, the
    /// first `trainSplit` images train and the rest validate.
    public static func load(directory: String, trainSplit: Int = 8_000) throws -> (train: LabeledImages, validation: LabeledImages) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.fileNotFound(path: directory)
        }
        func find(_ stem: String) -> String? {
            [stem, stem + ".gz"].map { (directory as NSString).appendingPathComponent($0) }
                .first { FileManager.default.fileExists(atPath: $0) }
        }
        let train = (find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"))
        let test = (find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"))
        if let trainImages = train.0, let trainLabels = train.1, let testImages = test.0, let testLabels = test.1 {
            return (try read(images: trainImages, labels: trainLabels), try read(images: testImages, labels: testLabels))
        }
        guard let testImages = test.0, let testLabels = test.1, train.0 == nil, train.1 == nil else {
            throw DataError.missingFiles(directory: directory, expected: "train-images-idx3-ubyte[.gz] with "
                + "train-labels-idx1-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] with t10k-labels-idx1-ubyte[.gz] "
                + "(or only the two t10k files, split by data.train_split)")
        }
        let all = try read(images: testImages, labels: testLabels)
        guard all.count > trainSplit else {
            throw DataError.tooFewImages(path: testImages, count: all.count, needed: trainSplit)
        }
        return (all.subset(0..<trainSplit), all.subset(trainSplit..<all.count))
    }

    static func read(images imagePath: String, labels labelPath: String) throws -> LabeledImages {
        let images = try IDXReader.readImages(path: imagePath)
        let labels = try IDXReader.readLabels(path: labelPath, classes: 10)
        guard images.count == labels.count else {
            throw DataError.countMismatch(images: imagePath, imageCount: images.count, labels: labelPath, labelCount: labels.count)
        }
        let scale: Float = 1 / 255
        return LabeledImages(name: "mnist", channels: 1, height: images.rows, width: images.columns, classes: 10,
                             pixels: images.pixels.map { Float($0) * scale }, labels: labels)
    }
}
