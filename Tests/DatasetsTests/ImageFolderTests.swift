import Datasets
import Foundation
import TensorCore
import XCTest

/// Image folders, list files and packed sets: torchvision's ImageFolder order, batches that are the
/// same bits whatever the worker count or the storage, and unreadable files named or replaced.
final class ImageFolderTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = try TestImages.imageFolder(classes: 3, perClass: 6)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    func maker(_ images: any EncodedImages, workers: Int, training: Bool = true, onBadImage: BadImagePolicy = .error)
        throws -> ImageBatchMaker
    {
        let normalization = try Normalization(mean: ImageNet.mean, std: ImageNet.std, channels: 3)
        let pipeline =
            training
            ? ImagePipeline(
                geometry: .randomResizedCrop(size: 24, scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3)), channels: 3,
                horizontalFlip: true, colorJitter: ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4),
                lighting: PCALighting(alphaStd: 0.1), normalization: normalization)
            : ImagePipeline(
                geometry: .resizeAndCrop(resize: 28, crop: 24, random: false), channels: 3,
                normalization: normalization)
        return ImageBatchMaker(images: images, pipeline: pipeline, seed: 7, workers: workers, onBadImage: onBadImage)
    }

    func batch(_ maker: ImageBatchMaker, _ indices: [Int], epoch: Int?) throws -> ([Float], [Int32], [String]) {
        let made = Batch()
        try maker.make(indices, epoch: epoch, into: made)
        return (made.input.array, made.labels, made.replaced)
    }

    func testScanFollowsImageFolderOrder() throws {
        // A class added out of order, a nested file, hidden files and a non-image file.
        try FileManager.default.createDirectory(atPath: path("train/a0/deeper"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("train/c0/img000.jpg"), toPath: path("train/a0/deeper/x.JPG"))
        try FileManager.default.copyItem(atPath: path("train/c0/img001.jpg"), toPath: path("train/a0/b.jpeg"))
        try Data("notes".utf8).write(to: root.appendingPathComponent("train/c1/README.txt"))
        try FileManager.default.createDirectory(atPath: path("train/.cache"), withIntermediateDirectories: true)
        let list = try ImageFileList.scan(folder: path("train"))
        XCTAssertEqual(list.classNames, ["a0", "c0", "c1", "c2"])
        XCTAssertEqual(Array(list.paths.prefix(3)), ["a0/b.jpeg", "a0/deeper/x.JPG", "c0/img000.jpg"])
        XCTAssertEqual(Array(list.labels.prefix(3)), [0, 0, 1])
        XCTAssertEqual(list.count, 2 + 3 * 6)
    }

    func testFolderMistakesAreNamed() throws {
        XCTAssertThrowsError(try ImageFileList.scan(folder: path("nope"))) { XCTAssertTrue("\($0)".contains("nope")) }
        try FileManager.default.createDirectory(atPath: path("train/empty"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFileList.scan(folder: path("train"))) {
            XCTAssertTrue("\($0)".contains("train/empty") && "\($0)".contains("no .jpg"), "\($0)")
        }
        try FileManager.default.removeItem(atPath: path("train/empty"))
        try FileManager.default.removeItem(atPath: path("val/c2"))
        XCTAssertThrowsError(try ImageSplits.open(root: root.path, train: nil, validation: nil, classesFile: nil)) {
            XCTAssertTrue("\($0)".contains("training classes missing in validation: c2"), "\($0)")
        }
        try Data([1, 2, 3]).write(to: root.appendingPathComponent("train/c1/scan.bmp"))
        XCTAssertThrowsError(try ImageFileList.scan(folder: path("train"))) {
            XCTAssertTrue("\($0)".contains("scan.bmp"), "\($0)")
        }
        try FileManager.default.createDirectory(atPath: path("flat"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFileList.scan(folder: path("flat"))) {
            XCTAssertTrue("\($0)".contains("no class folders"), "\($0)")
        }
    }

    func testListFilesReadPathsAndLabels() throws {
        let list = path("train.txt")
        try Data("# path label\nc2/img000.jpg 2\n\nc0/img001.jpg\t0\n".utf8).write(to: URL(fileURLWithPath: list))
        let read = try ImageFileList.read(list: list, root: path("train"))
        XCTAssertEqual(read.paths, ["c2/img000.jpg", "c0/img001.jpg"])
        XCTAssertEqual(read.labels, [2, 0])
        XCTAssertEqual(read.classNames, ["0", "1", "2"])
        try Data("c2/img000.jpg two\n".utf8).write(to: URL(fileURLWithPath: list))
        XCTAssertThrowsError(try ImageFileList.read(list: list, root: path("train"))) {
            XCTAssertEqual("\($0)", "\(list):1: label 'two' is not a non-negative integer")
        }
        try Data("c2/img000.jpg 5\n".utf8).write(to: URL(fileURLWithPath: list))
        XCTAssertThrowsError(try ImageFileList.read(list: list, root: path("train"), classNames: ["a", "b"]))
    }

    /// Batches are the same bits at 1, 2 and 4 workers, training and validation, and repeat exactly.
    func testBatchesAreTheSameWhateverTheWorkers() throws {
        let images = FolderImages(try ImageFileList.scan(folder: path("train")))
        let indices = [17, 3, 9, 0, 11, 5, 14]
        for training in [true, false] {
            let epoch = training ? 2 : nil
            let one = try batch(try maker(images, workers: 1, training: training), indices, epoch: epoch)
            for workers in [2, 4] {
                let many = try batch(try maker(images, workers: workers, training: training), indices, epoch: epoch)
                XCTAssertEqual(many.0, one.0, "workers \(workers)")
                XCTAssertEqual(many.1, one.1)
            }
            XCTAssertEqual(one.1, indices.map { Int32($0 / 6) })
            XCTAssertEqual(one.0.count, 7 * 3 * 24 * 24)
        }
        // Another epoch draws other crops; the same epoch the same ones.
        let training = try maker(images, workers: 2)
        XCTAssertNotEqual(try batch(training, indices, epoch: 3).0, try batch(training, indices, epoch: 2).0)
        XCTAssertEqual(try batch(training, indices, epoch: 3).0, try batch(training, indices, epoch: 3).0)
    }

    func testUnreadableImagesStopOrAreReplaced() throws {
        try Data().write(to: root.appendingPathComponent("train/c1/img002.jpg"))  // zero bytes
        let original = try Data(contentsOf: root.appendingPathComponent("train/c2/img001.jpg"))
        // Truncated.
        try original.prefix(original.count / 3).write(to: root.appendingPathComponent("train/c2/img001.jpg"))
        try Data("<html>".utf8).write(to: root.appendingPathComponent("train/c0/img004.jpg"))  // not an image
        let images = FolderImages(try ImageFileList.scan(folder: path("train")))
        let indices = Array(0..<18)
        XCTAssertThrowsError(try batch(try maker(images, workers: 2), indices, epoch: 0)) { error in
            XCTAssertTrue("\(error)".contains("train/c0/img004.jpg"), "\(error)")
            XCTAssertTrue("\(error)".contains("neither JPEG nor PNG"), "\(error)")
        }
        let skipping = try maker(images, workers: 2, onBadImage: .skip)
        let (pixels, labels, replaced) = try batch(skipping, indices, epoch: 0)
        XCTAssertEqual(replaced.map { ($0 as NSString).lastPathComponent }, ["img004.jpg", "img002.jpg", "img001.jpg"])
        // Row 5 (c0/img005) stands in for row 4 (c0/img004), row 9 for row 8 (c1/img002), row 14 for
        // row 13 (c2/img001).
        XCTAssertEqual(labels, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
        XCTAssertEqual(pixels.count, 18 * 3 * 24 * 24)
        XCTAssertEqual(try batch(try maker(images, workers: 1, onBadImage: .skip), indices, epoch: 0).0, pixels)
        // A batch of nothing but bad images (a batch of one, too) takes the next readable images of the
        // data set: c0/img005 for c0/img004, c1/img003 for c1/img002.
        let lonely = try batch(skipping, [4, 8], epoch: 0)
        XCTAssertEqual(lonely.1, [0, 1])
        XCTAssertEqual(lonely.2.count, 2)
        XCTAssertEqual(try batch(skipping, [4], epoch: 0).1, [0])
    }

    /// Review findings: CRLF list files, absurd labels, symbolic links (followed, as torchvision),
    /// a FIFO named like an image, and a packed set whose manifest was edited.
    func testHostileLayoutsAreReadOrRefusedCleanly() throws {
        let list = path("crlf.txt")
        try Data("c2/img000.jpg 2\r\nc0/img001.jpg 0\r\n".utf8).write(to: URL(fileURLWithPath: list))
        XCTAssertEqual(
            try ImageFileList.read(list: list, root: path("train")).paths, ["c2/img000.jpg", "c0/img001.jpg"])
        try Data("c2/img000.jpg 2147483647\n".utf8).write(to: URL(fileURLWithPath: list))
        XCTAssertThrowsError(try ImageFileList.read(list: list, root: path("train"))) {
            XCTAssertEqual("\($0)", "\(list):1: label 2147483647 is above 999999")
        }
        // A class folder that is a link, and a linked sub-folder inside a class: both followed.
        try FileManager.default.createSymbolicLink(atPath: path("train/c3"), withDestinationPath: path("train/c2"))
        try FileManager.default.createSymbolicLink(atPath: path("train/c0/more"), withDestinationPath: path("train/c1"))
        try FileManager.default.createSymbolicLink(atPath: path("train/c1/loop"), withDestinationPath: path("train/c1"))
        let scanned = try ImageFileList.scan(folder: path("train"))
        XCTAssertEqual(scanned.classNames, ["c0", "c1", "c2", "c3"])
        XCTAssertEqual(scanned.labels.filter { $0 == 0 }.count, 12)  // c0's 6 and c1's 6 through "more"
        XCTAssertEqual(scanned.labels.filter { $0 == 3 }.count, 6)
        // A FIFO named like an image is refused, not waited on.
        XCTAssertEqual(mkfifo(path("train/c2/pipe.jpg"), 0o644), 0)
        let images = FolderImages(try ImageFileList.scan(folder: path("train")))
        let fifo = try XCTUnwrap(images.list.paths.firstIndex(of: "c2/pipe.jpg"))
        var buffer: [UInt8] = []
        XCTAssertThrowsError(try images.read(fifo, into: &buffer)) {
            XCTAssertTrue("\($0)".contains("not a regular file"))
        }
        // An edited manifest: a count that would overflow the index size, a shard outside the set.
        let folder = FolderImages(try ImageFileList.scan(folder: path("val")))
        _ = try PackedImagesWriter().pack(["train": folder.list, "val": folder.list], into: path("packed"))
        let manifest = path("packed/pack.json")
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"count\" : 6", with: "\"count\" : 2305843009213693970")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PackedImages(directory: path("packed"), split: "train")) {
            XCTAssertTrue("\($0)".contains("count 2305843009213693970 is impossible"), "\($0)")
        }
        try text.replacingOccurrences(of: "\"train-00000.bin\"", with: "\"../../etc/passwd\"")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PackedImages(directory: path("packed"), split: "train")) {
            XCTAssertTrue("\($0)".contains("is not a file name inside the packed set"), "\($0)")
        }
    }

    /// A packed set gives the folder's batches to the bit; its manifest and index are checked.
    func testPackedSetEqualsTheFolder() throws {
        let splits = try ImageSplits.open(root: root.path, train: nil, validation: nil, classesFile: nil)
        let folder = try XCTUnwrap(splits.train as? FolderImages),
            validation = try XCTUnwrap(splits.validation as? FolderImages)
        let packed = path("packed")
        let manifest = try PackedImagesWriter(shardBytes: 20_000).pack(
            ["train": folder.list, "val": validation.list], into: packed)
        XCTAssertGreaterThan(try XCTUnwrap(manifest.splits["train"]).shards.count, 1)
        let reopened = try ImageSplits.open(root: packed, train: nil, validation: nil, classesFile: nil)
        XCTAssertTrue(reopened.train is PackedImages)
        XCTAssertEqual(reopened.train.labels, folder.labels)
        XCTAssertEqual(reopened.train.classNames, ["c0", "c1", "c2"])
        let indices = Array((0..<18).reversed())
        XCTAssertEqual(
            try batch(try maker(reopened.train, workers: 2), indices, epoch: 1).0,
            try batch(try maker(folder, workers: 2), indices, epoch: 1).0)
        XCTAssertEqual(
            try batch(try maker(reopened.validation, workers: 1, training: false), [0, 3, 5], epoch: nil).0,
            try batch(try maker(validation, workers: 1, training: false), [0, 3, 5], epoch: nil).0)
        // A damaged index is refused with the file named.
        let index = URL(fileURLWithPath: packed).appendingPathComponent("train.index")
        var bytes = try Data(contentsOf: index)
        bytes[8 + 24 * 3] = 0xFF
        bytes[15 + 24 * 3] = 0x7F
        try bytes.write(to: index)
        XCTAssertThrowsError(try PackedImages(directory: packed, split: "train")) {
            XCTAssertTrue("\($0)".contains("train.index"), "\($0)")
        }
        try bytes.prefix(30).write(to: index)
        XCTAssertThrowsError(try PackedImages(directory: packed, split: "train")) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
    }

    /// Packing pre-resized re-encodes images larger than the side, keeping their aspect.
    func testPackingWithResizeShrinksTheShorterSide() throws {
        let list = try ImageFileList.scan(folder: path("train"))
        _ = try PackedImagesWriter(resize: 20).pack(["train": list, "val": list], into: path("small"))
        let packed = try PackedImages(directory: path("small"), split: "train")
        var buffer: [UInt8] = []
        let length = try packed.read(0, into: &buffer)
        let size = try Array(buffer.prefix(length)).withUnsafeBytes { try ImageDecoder().size($0) }
        XCTAssertEqual(size.height, 20)
        XCTAssertEqual(size.width, 24)  // 48x40 → int(20 · 48 / 40)
    }

    /// Seeded mutations of a valid list file, pack manifest and pack index (bytes changed, cut,
    /// repeated): each read ends in a clean error or a usable set, never a crash or a hang.
    func testMutatedListFilesAndPackedSetsNeverCrash() throws {
        let splits = try ImageSplits.open(root: root.path, train: nil, validation: nil, classesFile: nil)
        let train = try XCTUnwrap(splits.train as? FolderImages)
        _ = try PackedImagesWriter().pack(["train": train.list, "val": train.list], into: path("packed"))
        let list = path("list.txt")
        let listText = zip(train.list.paths, train.list.labels).map { "\($0) \($1)" }.joined(separator: "\n") + "\n"
        let originals = [
            (list, Array(listText.utf8)),
            (path("packed/pack.json"), Array(try Data(contentsOf: URL(fileURLWithPath: path("packed/pack.json"))))),
            (path("packed/train.index"), Array(try Data(contentsOf: URL(fileURLWithPath: path("packed/train.index"))))),
        ]
        var random = RandomGenerator(seed: 11)
        var (opened, refused) = (0, 0)
        for iteration in 0..<300 {
            let (file, original) = originals[iteration % originals.count]
            var bytes = original
            for _ in 0..<(1 + random.nextInt(below: 3)) where !bytes.isEmpty {
                switch random.nextInt(below: 3) {
                case 0: bytes[random.nextInt(below: bytes.count)] = UInt8(random.nextInt(below: 256))
                case 1: bytes = Array(bytes.prefix(random.nextInt(below: bytes.count + 1)))
                default:
                    let start = random.nextInt(below: bytes.count)
                    bytes.insert(contentsOf: bytes[start..<min(start + 12, bytes.count)], at: start)
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                let images: any EncodedImages = file == list
                    ? FolderImages(try ImageFileList.read(list: list, root: path("train")))
                    : try PackedImages(directory: path("packed"), split: "train")
                var buffer: [UInt8] = []
                for index in 0..<min(images.count, 3) { _ = try? images.read(index, into: &buffer) }
                XCTAssertEqual(images.labels.count, images.count)
                opened += 1
            } catch {
                refused += 1
            }
            try Data(original).write(to: URL(fileURLWithPath: file))
        }
        XCTAssertEqual(opened + refused, 300)
        XCTAssertGreaterThan(refused, 50)
    }
}
