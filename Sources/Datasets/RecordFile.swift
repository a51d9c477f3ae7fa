import Foundation

/// A file of image records in a format the data sets read, taken whole for `predict`: MNIST's
/// IDX images (`…-images-idx3-ubyte`, gzip or not; labels from the matching `…-labels-idx1-ubyte`
/// beside it, where present) or a CIFAR binary batch (`.bin`: CIFAR-10's records, or CIFAR-100's
/// when the model was trained on CIFAR-100). Pixels are scaled to [0, 1] as the loaders do.
public enum RecordFile {
    /// Whether `path` names such a file (by its name; its contents are checked when read).
    public static func isRecordFile(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return name.hasSuffix("idx3-ubyte") || name.hasSuffix("idx3-ubyte.gz") || name.hasSuffix(".bin")
    }

    /// The images of `path` and their labels (nil for IDX images without a labels file beside
    /// them). `dataset`: the model's data set, which says how a `.bin` file's records are laid out;
    /// `labelMode`: which CIFAR-100 label it was trained on.
    public static func read(_ path: String, dataset: String, labelMode: CIFAR100.LabelMode = .fine) throws
        -> (images: LabeledImages, labelled: Bool) {
        let name = (path as NSString).lastPathComponent
        if name.hasSuffix(".bin") {
            let records: CIFARRecords
            switch dataset {
            case "cifar10": records = CIFAR10.records
            case "cifar100": records = CIFAR100.records(labelMode)
            default:
                throw DataError.unreadable(path: path, reason: "a .bin file is read as CIFAR records, and this "
                    + "model was trained on \(dataset), not cifar10 or cifar100")
            }
            var pixels: [Float] = [], labels: [Int32] = []
            try records.read(path, pixels: &pixels, labels: &labels)
            let classes = records.labelClasses[records.labelIndex]
            return (LabeledImages(name: name, channels: 3, height: 32, width: 32, classes: classes, pixels: pixels,
                                  labels: labels), true)
        }
        let images = try IDXReader.readImages(path: path)
        // t10k-images-idx3-ubyte → t10k-labels-idx1-ubyte (also the t10k-images.idx3-ubyte spelling).
        let labelsPath = [path.replacingOccurrences(of: "images-idx3-ubyte", with: "labels-idx1-ubyte"),
                          path.replacingOccurrences(of: "images.idx3-ubyte", with: "labels.idx1-ubyte")]
            .flatMap { [$0, $0.hasSuffix(".gz") ? String($0.dropLast(3)) : $0 + ".gz"] }
            .first { $0 != path && FileManager.default.fileExists(atPath: $0) }
        var labels = [Int32](repeating: -1, count: images.count)
        if let labelsPath {
            let read = try IDXReader.readLabels(path: labelsPath)
            guard read.count == images.count else {
                throw DataError.badDimensions(path: labelsPath, reason: "\(read.count) labels for the "
                    + "\(images.count) images of \(name)")
            }
            labels = read
        }
        let pixels = images.pixels.map { Float($0) / 255 }
        return (LabeledImages(name: name, channels: 1, height: images.rows, width: images.columns, classes: 10,
                              pixels: pixels, labels: labels), labelsPath != nil)
    }
}
