import ArgumentParser
import Datasets
import Foundation
import TensorCore

/// `data make-images`: an ImageNet-like folder of photograph-like JPEGs (or PNGs).
struct MakeImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-images",
        abstract: "Write an image folder (OUT/train/<class>/*.JPEG, OUT/val/<class>/*.JPEG) of photograph-like images, "
            + "for trying and benchmarking the image pipeline without ImageNet.")
    @Option(name: [.short, .long], help: "Folder to write (created if missing).") var output: String
    @Option(name: .long, help: "Classes.") var classes = 10
    @Option(name: .long, help: "Training images per class.") var trainPerClass = 100
    @Option(name: .long, help: "Validation images per class.") var valPerClass = 20
    @Option(name: .long, help: "Image size, WIDTHxHEIGHT (every third image is turned to portrait).") var size =
        "500x375"
    @Option(name: .long, help: "JPEG quality.") var quality = 90
    @Option(name: .long, help: "jpeg or png.") var format = "jpeg"
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 1

    func validate() throws {
        guard (1...10_000).contains(classes), (1...100_000).contains(trainPerClass), (1...100_000).contains(valPerClass)
        else {
            throw ValidationError("--classes must lie in 1...10000 and images per class in 1...100000")
        }
        guard parsedSize != nil else {
            throw ValidationError("--size must be WIDTHxHEIGHT with sides in 8...4096, got '\(size)'")
        }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must lie in 1...100") }
        guard format == "jpeg" || format == "png" else { throw ValidationError("--format must be jpeg or png") }
    }

    var parsedSize: (width: Int, height: Int)? {
        let parts = size.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ (8...4096).contains($0) }) else { return nil }
        return (parts[0], parts[1])
    }

    func run() throws {
        guard let (width, height) = parsedSize else { return }
        let names = (0..<classes).map { String(format: "class%03d", $0) }
        for (split, perClass) in [("train", trainPerClass), ("val", valPerClass)] {
            for (label, name) in names.enumerated() {
                let folder = "\(output)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for index in 0..<perClass {
                    let sample = split == "train" ? index : trainPerClass + index
                    let portrait = sample % 3 == 2
                    let image = PhotoLikeImages.make(
                        label: label, classes: classes, index: sample,
                        width: portrait ? height : width, height: portrait ? width : height,
                        seed: seed)
                    let bytes =
                        format == "png" ? try ImageEncoder.png(image) : try ImageEncoder.jpeg(image, quality: quality)
                    let file = "\(folder)/\(name)_\(String(format: "%05d", sample)).\(format == "png" ? "png" : "JPEG")"
                    try Data(bytes).write(to: URL(fileURLWithPath: file))
                }
            }
        }
        print(
            "wrote \(classes * (trainPerClass + valPerClass)) \(format == "png" ? "PNG" : "JPEG") images "
                + "(\(classes) classes, \(trainPerClass)/\(valPerClass) per class for train/val) to \(output)")
    }
}

/// `data pack`: an image folder's splits as a packed set.
struct PackImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack an image folder (ROOT/train, ROOT/val) into a few large shard files plus an index: sequential "
            + "reads, no per-file open. Training reads OUT exactly as ROOT (data.path: OUT).")
    @Argument(help: "Image folder root, holding train/ and val/.") var root: String
    @Option(name: [.short, .long], help: "Packed set directory to write.") var output: String
    @Option(
        name: .long, help: "Shrink images so the shorter side is this (re-encoded as JPEG); default: bytes as they are."
    )
    var resize: Int?
    @Option(name: .long, help: "JPEG quality of re-encoded images.") var quality = 90
    @Option(name: .long, help: "Shard size, MiB.") var shardMb = 1024

    func validate() throws {
        if let resize, !(8...16_384).contains(resize) { throw ValidationError("--resize must lie in 8...16384") }
        guard (1...100).contains(quality), (1...65_536).contains(shardMb) else {
            throw ValidationError("--quality must lie in 1...100 and --shard-mb in 1...65536")
        }
    }

    func run() throws {
        let splits = try ImageSplits.open(root: root, train: nil, validation: nil, classesFile: nil)
        guard let train = splits.train as? FolderImages, let validation = splits.validation as? FolderImages else {
            throw ValidationError("\(root) is already a packed set")
        }
        let writer = PackedImagesWriter(shardBytes: shardMb << 20, resize: resize, quality: quality)
        let manifest = try writer.pack(["train": train.list, "val": validation.list], into: output)
        let counts = manifest.splits.sorted { $0.key < $1.key }.map {
            "\($0.value.count) \($0.key) in \($0.value.shards.count) shard(s)"
        }
        print("packed \(counts.joined(separator: ", ")), \(manifest.classes.count) classes, into \(output)")
    }
}

/// `data inspect`: counts per class and split of an image folder or packed set.
struct InspectImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Count the images of each class and split of an image folder or packed set.")
    @Argument(help: "Image folder root (train/, val/) or packed set directory.") var root: String
    @Option(name: .long, help: "table or json.") var format = "table"

    func run() throws {
        let splits = try ImageSplits.open(root: root, train: nil, validation: nil, classesFile: nil)
        let kind = splits.train is PackedImages ? "packed set" : "image folder"
        func perClass(_ split: any EncodedImages) -> [Int] {
            var counts = [Int](repeating: 0, count: split.classNames.count)
            for label in split.labels { counts[Int(label)] += 1 }
            return counts
        }
        let (train, val) = (perClass(splits.train), perClass(splits.validation))
        let names = splits.train.classNames
        if format == "json" {
            let rows = names.enumerated().map {
                ["class": $1, "train": train[$0], "val": val[$0]] as [String: Any]
            }
            let object: [String: Any] = [
                "root": root, "kind": kind, "classes": rows,
                "train": splits.train.count, "val": splits.validation.count,
            ]
            print(
                String(
                    decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            )
            return
        }
        print(
            "\(root): \(kind), \(names.count) classes, \(splits.train.count) train / "
                + "\(splits.validation.count) val images"
        )
        let width = max(5, names.map(\.count).max() ?? 5)
        print("class".padding(toLength: width, withPad: " ", startingAt: 0) + "    train      val")
        for (label, name) in names.enumerated() {
            print(
                name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + String(format: " %8d %8d", train[label], val[label]))
        }
    }
}

/// `data tensor`: the validation transform of image files, as a .npy array (for comparing with torchvision).
struct ImageTensor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "Write the validation transform (resize shorter side, centre crop, /255, ImageNet normalisation) of "
            + "image files as a float32 .npy array [N, C, size, size].")
    @Argument(help: "Image files.") var files: [String]
    @Option(name: .long, help: "Crop side.") var size = 224
    @Option(name: .long, help: "Shorter side before the crop (default size × 256/224).") var resize: Int?
    @Option(name: .long, help: "1 or 3.") var channels = 3
    @Flag(name: .long, help: "Leave pixels in [0, 1] (no normalisation).") var noNormalize = false
    @Option(name: [.short, .long], help: ".npy file to write.") var output: String
    @Flag(name: .customLong("dct-scaling"), help: "Decode JPEGs at reduced size where the crop allows.")
    var dctScaling = false

    func validate() throws {
        guard channels == 1 || channels == 3 else {
            throw ValidationError("--channels must be 1 or 3, got \(channels)")
        }
        guard (1...4096).contains(size) else { throw ValidationError("--size must lie in 1...4096, got \(size)") }
        if let resize, !(size...16_384).contains(resize) {
            throw ValidationError("--resize must lie in \(size)...16384 (at least the crop), got \(resize)")
        }
        guard !files.isEmpty else { throw ValidationError("give at least one image file") }
    }

    func run() throws {
        // Grey: the channels' average statistics, as training uses.
        let grey = (mean: ImageNet.mean.reduce(0, +) / 3, std: ImageNet.std.reduce(0, +) / 3)
        let normalization =
            noNormalize
            ? nil
            : try Normalization(
                mean: channels == 3 ? ImageNet.mean : [grey.mean], std: channels == 3 ? ImageNet.std : [grey.std],
                channels: channels)
        let pipeline = ImagePipeline(
            geometry: .resizeAndCrop(resize: resize ?? max(size, size * 256 / 224), crop: size, random: false),
            channels: channels, normalization: normalization, reducedDecoding: dctScaling)
        let worker = ImageWorker(pipeline: pipeline)
        let plane = channels * size * size
        var values = [Float](repeating: 0, count: files.count * plane)
        for (i, file) in files.enumerated() {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw DataError.fileNotFound(path: file)
            }
            var random: RandomGenerator?
            do {
                try data.withUnsafeBytes { bytes in
                    try values.withUnsafeMutableBufferPointer {
                        guard let base = $0.baseAddress else { return }
                        try worker.transform(bytes, random: &random, into: base + i * plane)
                    }
                }
            } catch let error as ImageDecodingError {
                throw DataError.badImage(path: file, reason: error.reason)
            }
        }
        try NumPyFile.float32(values, shape: [files.count, channels, size, size]).write(
            to: URL(fileURLWithPath: output))
        print("wrote \(files.count) image(s) as [\(files.count), \(channels), \(size), \(size)] to \(output)")
    }
}

/// The .npy format, version 1.0, for one little-endian float32 array.
enum NumPyFile {
    static func float32(_ values: [Float], shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64,
        // ending in a newline.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        data.append(contentsOf: [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }
}
