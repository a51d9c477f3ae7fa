import Foundation

/// The record layout both CIFAR binary formats share: `labelBytes` label bytes (each checked
/// against its class count), then 1,024 red, 1,024 green and 1,024 blue bytes of a 32x32 image.
struct CIFARRecords {
    /// "CIFAR-10", "CIFAR-100": names the format in errors.
    let format: String
    /// Class count of each label byte, in record order (CIFAR-100: coarse 20, fine 100).
    let labelClasses: [Int]
    /// Which label byte becomes the image's label.
    let labelIndex: Int

    static let pixelBytes = 3 * 32 * 32
    var recordBytes: Int { labelClasses.count + CIFARRecords.pixelBytes }

    /// Appends one file's images (scaled to [0, 1]) and their labels; every label byte of every
    /// record is checked, so a bad file fails naming the file and the record.
    func read(_ path: String, pixels: inout [Float], labels: inout [Int32]) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let bytes = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "missing, a directory or no permission")
        }
        guard !bytes.isEmpty else { throw DataError.badDimensions(path: path, reason: "is empty; expected \(recordBytes)-byte \(format) records") }
        guard bytes.count % recordBytes == 0 else {
            throw DataError.badDimensions(path: path, reason: "\(bytes.count) bytes is not a whole number of "
                + "\(recordBytes)-byte \(format) records (truncated at record \(bytes.count / recordBytes)?)")
        }
        let count = bytes.count / recordBytes, plane = CIFARRecords.pixelBytes, header = labelClasses.count
        let firstPixel = pixels.count
        pixels.append(contentsOf: repeatElement(0, count: count * plane))
        labels.reserveCapacity(labels.count + count)
        try bytes.withUnsafeBytes { raw in
            let source = raw.bindMemory(to: UInt8.self)
            try pixels.withUnsafeMutableBufferPointer { target in
                for record in 0..<count {
                    let base = record * recordBytes
                    for (offset, classes) in labelClasses.enumerated() where Int(source[base + offset]) >= classes {
                        throw DataError.labelOutOfRange(path: path, index: record, label: Int(source[base + offset]), classes: classes)
                    }
                    labels.append(Int32(source[base + labelIndex]))
                    let out = firstPixel + record * plane
                    for i in 0..<plane { target[out + i] = Float(source[base + header + i]) / 255 }
                }
            }
        }
    }

    /// The bytes of a file holding `images` (3x32x32, values in [0, 1]), each record headed by
    /// its label bytes (`labelBytes(index)`).
    static func encode(_ images: LabeledImages, format: String, labelBytes: (Int) -> [UInt8]) -> Data {
        precondition(images.channels == 3 && images.height == 32 && images.width == 32, "\(format) images are 3x32x32")
        var bytes = Data(capacity: images.count * (2 + pixelBytes))
        for index in 0..<images.count {
            bytes.append(contentsOf: labelBytes(index))
            let start = index * images.imageSize
            for value in images.pixels[start..<(start + images.imageSize)] {
                bytes.append(UInt8((min(max(value, 0), 1) * 255).rounded()))
            }
        }
        return bytes
    }
}
