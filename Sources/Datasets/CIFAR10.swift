import Foundation

/// CIFAR-10 in its binary distribution format (cifar-10-batches-bin): `data_batch_1.bin` …
/// `data_batch_5.bin` for training and `test_batch.bin` for validation, each a sequence of
/// 3,073-byte records: one label byte (0…9), then 1,024 red, 1,024 green and 1,024 blue
/// bytes of a 32x32 image in row-major order — already NCHW.
public enum CIFAR10 {
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    public static let side = 32
    public static let recordBytes = 1 + 3 * 32 * 32
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"
    /// Per-channel mean and std of the training set (the values torchvision recipes use).
    public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
    public static let std: [Float] = [0.2470, 0.2435, 0.2616]

    /// Training batches present in `directory` (at least data_batch_1.bin) and the test batch.
    public static func load(directory: String) throws -> (train: LabeledImages, validation: LabeledImages) {
        let manager = FileManager.default
        let present = trainFiles.filter { manager.fileExists(atPath: (directory as NSString).appendingPathComponent($0)) }
        let test = (directory as NSString).appendingPathComponent(testFile)
        guard !present.isEmpty, manager.fileExists(atPath: test) else {
            throw DataError.missingFiles(directory: directory, dataset: "CIFAR-10",
                                         expected: "binary batches data_batch_1.bin … data_batch_5.bin and test_batch.bin")
        }
        var pixels: [Float] = [], labels: [Int32] = []
        for name in present {
            try read((directory as NSString).appendingPathComponent(name), pixels: &pixels, labels: &labels)
        }
        let train = LabeledImages(name: "cifar10", channels: 3, height: side, width: side, classes: 10,
                                  pixels: pixels, labels: labels)
        pixels = []
        labels = []
        try read(test, pixels: &pixels, labels: &labels)
        return (train, LabeledImages(name: "cifar10", channels: 3, height: side, width: side, classes: 10,
                                     pixels: pixels, labels: labels))
    }

    static let records = CIFARRecords(format: "CIFAR-10", labelClasses: [10], labelIndex: 0)

    /// Appends one batch file's images (scaled to [0, 1]) and labels.
    static func read(_ path: String, pixels: inout [Float], labels: inout [Int32]) throws {
        try records.read(path, pixels: &pixels, labels: &labels)
    }

    /// The bytes of a CIFAR-10 batch file holding `images` (3x32x32, values in [0, 1]).
    public static func encode(_ images: LabeledImages) -> Data {
        CIFARRecords.encode(images, format: "CIFAR-10") { [UInt8(images.labels[$0])] }
    }
}
