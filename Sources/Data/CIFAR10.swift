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

    /// Appends one batch file's images (scaled to [0, 1]) and labels.
    static func read(_ path: String, pixels: inout [Float], labels: inout [Int32]) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "missing or no permission")
        }
        guard !bytes.isEmpty else { throw DataError.badDimensions(path: path, reason: "is empty; expected \(recordBytes)-byte CIFAR-10 records") }
        guard bytes.count % recordBytes == 0 else {
            throw DataError.badDimensions(path: path, reason: "\(bytes.count) bytes is not a whole number of "
                + "\(recordBytes)-byte CIFAR-10 records (truncated at record \(bytes.count / recordBytes)?)")
        }
        let count = bytes.count / recordBytes, plane = recordBytes - 1
        let firstPixel = pixels.count
        pixels.append(contentsOf: repeatElement(0, count: count * plane))
        labels.reserveCapacity(labels.count + count)
        try bytes.withUnsafeBytes { raw in
            let source = raw.bindMemory(to: UInt8.self)
            try pixels.withUnsafeMutableBufferPointer { target in
                for record in 0..<count {
                    let base = record * recordBytes
                    let label = Int(source[base])
                    guard label < 10 else { throw DataError.labelOutOfRange(path: path, index: record, label: label, classes: 10) }
                    labels.append(Int32(label))
                    let out = firstPixel + record * plane
                    for i in 0..<plane { target[out + i] = Float(source[base + 1 + i]) / 255 }
                }
            }
        }
    }

    /// The bytes of a CIFAR-10 batch file holding `images` (3x32x32, values in [0, 1]).
    public static func encode(_ images: LabeledImages) -> Foundation.Data {
        precondition(images.channels == 3 && images.height == side && images.width == side, "CIFAR-10 images are 3x32x32")
        var bytes = Foundation.Data(capacity: images.count * recordBytes)
        for index in 0..<images.count {
            bytes.append(UInt8(images.labels[index]))
            let start = index * images.imageSize
            for value in images.pixels[start..<(start + images.imageSize)] {
                bytes.append(UInt8((min(max(value, 0), 1) * 255).rounded()))
            }
        }
        return bytes
    }
}
