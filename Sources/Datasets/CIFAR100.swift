import Foundation

/// CIFAR-100 in its binary distribution format (cifar-100-binary): `train.bin` (50,000 images)
/// and `test.bin` (10,000), each a sequence of 3,074-byte records: the coarse label byte
/// (0…19, the superclass), the fine label byte (0…99), then 1,024 red, 1,024 green and 1,024
/// blue bytes of a 32x32 image in row-major order.
public enum CIFAR100 {
    /// Which of the two labels a record's image is trained on.
    public enum LabelMode: String, CaseIterable, Sendable {
        /// The 100 classes.
        case fine
        /// The 20 superclasses.
        case coarse

        public var classes: Int { self == .fine ? 100 : 20 }
    }

    public static let side = 32
    public static let recordBytes = 2 + 3 * 32 * 32
    public static let trainFile = "train.bin"
    public static let testFile = "test.bin"
    /// Per-channel mean and std of the training set (the values torchvision recipes use).
    public static let mean: [Float] = [0.5071, 0.4865, 0.4409]
    public static let std: [Float] = [0.2673, 0.2564, 0.2762]

    static func records(_ mode: LabelMode) -> CIFARRecords {
        CIFARRecords(format: "CIFAR-100", labelClasses: [20, 100], labelIndex: mode == .coarse ? 0 : 1)
    }

    /// train.bin and test.bin in `directory`, labelled with the fine (100) or coarse (20) classes.
    public static func load(directory: String, labelMode: LabelMode = .fine) throws
        -> (train: LabeledImages, validation: LabeledImages) {
        let train = (directory as NSString).appendingPathComponent(trainFile)
        let test = (directory as NSString).appendingPathComponent(testFile)
        let missing = [train, test].filter { !FileManager.default.fileExists(atPath: $0) }
        guard missing.isEmpty else {
            throw DataError.missingFiles(directory: directory, dataset: "CIFAR-100", expected: "binary files train.bin and test.bin"
                + " (missing: \(missing.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")))")
        }
        func read(_ path: String) throws -> LabeledImages {
            var pixels: [Float] = [], labels: [Int32] = []
            try records(labelMode).read(path, pixels: &pixels, labels: &labels)
            return LabeledImages(name: "cifar100", channels: 3, height: side, width: side, classes: labelMode.classes,
                                 pixels: pixels, labels: labels)
        }
        return (try read(train), try read(test))
    }

    /// The bytes of a CIFAR-100 file holding `images` (3x32x32, values in [0, 1], labels the
    /// fine classes) with the coarse class of each fine class from `coarse`.
    public static func encode(_ images: LabeledImages, coarse: (Int32) -> Int32) -> Data {
        CIFARRecords.encode(images, format: "CIFAR-100") {
            [UInt8(coarse(images.labels[$0])), UInt8(images.labels[$0])]
        }
    }
}
