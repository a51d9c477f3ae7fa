import Checkpoint
import Configuration
import Datasets
import Foundation
import NN
import Reports
import TensorCore

/// `cnn-dist predict`: a checkpoint's model on image files, each through the checkpoint's own
/// validation transform (image-folder runs: resize and centre crop, their normalisation; other
/// data sets: the image resized and centre-cropped to the model's input, their normalisation),
/// reporting the top-k classes by softmax probability, with names where the checkpoint has them.
public struct Prediction {
    public struct Guess: Equatable, Encodable {
        public var `class`: Int
        public var name: String?
        public var probability: Double
    }

    public struct Result: Equatable, Encodable {
        /// The image file, or `FILE#N` for record N of a record file.
        public var file: String
        /// The true class where the data gives one (record files with labels).
        public var label: Int?
        public var top: [Guess]
        /// Why the file gave no prediction (unreadable, not an image); nil when it did.
        public var error: String?

        public init(file: String, label: Int? = nil, top: [Guess], error: String? = nil) {
            (self.file, self.label, self.top, self.error) = (file, label, top, error)
        }
    }

    public let model: Model
    public let classNames: [String]?
    let worker: ImageWorker
    /// The data set the model was trained on, and its normalisation: how record files are read.
    let dataset: String
    let labelMode: CIFAR100.LabelMode
    let normalization: Normalization?

    /// Builds the model and the transform from the checkpoint (its config, or `configPath`'s for a
    /// weights-only file) and loads the weights.
    public init(checkpoint path: String, configPath: String? = nil) throws {
        let path = try CheckpointStore.resolve(path)
        let file = try SafeTensors.read(path: path)
        var config: TrainConfig
        var names: [String]?
        var inputShape: [Int]?
        if file.metadata["format"] == CheckpointFile.formatName {
            let checkpoint = try CheckpointFile.verified(file, path: path)
            names = checkpoint.info.classNames
            inputShape = checkpoint.info.inputShape.split(separator: "x").compactMap { Int($0) }
            config =
                try configPath.map { try TrainConfig.load(file: $0, knownModels: Catalog.models, dataPathGiven: true) }
                ?? TrainConfig.parse(
                    yaml: checkpoint.info.config, source: "\(path) (metadata 'config')",
                    knownModels: Catalog.models)
        } else {
            guard let configPath else {
                throw CheckpointError.malformed(
                    path: path,
                    reason: "no cnn-dist training state in its metadata, so no "
                        + "config to rebuild the model from; pass --config FILE to predict with a weights-only file")
            }
            config = try TrainConfig.load(file: configPath, knownModels: Catalog.models, dataPathGiven: true)
            names = file.metadata["class_names"].flatMap {
                try? JSONDecoder().decode([String].self, from: Data($0.utf8))
            }
        }
        let shapes = Catalog.shapes(for: config)
        let shape = inputShape ?? shapes.inputShape
        guard shape.count == 3, shape[1] == shape[2] else {
            throw TrainError.datasetUnavailable(
                dataset: config.data.dataset,
                reason: "predict needs square inputs; the model takes \(shape)")
        }
        let classes = Int(file.metadata["classes"] ?? "") ?? config.model.classes ?? names?.count ?? shapes.classes
        model = try ModelFactory.make(config.model, inputShape: shape, classes: classes)
        try ModelStateLoader.loadWeights(file, path: path, into: model)
        model.setTraining(false)
        classNames = names?.count == model.classes ? names : nil
        let pipeline: ImagePipeline
        if DatasetFacts.named(config.data.dataset)?.readsImageFiles == true {
            pipeline = try DatasetLoader.imagePipelines(config.data).validation
        } else {
            pipeline = ImagePipeline(
                geometry: .resizeAndCrop(resize: shape[1], crop: shape[1], random: false),
                channels: shape[0],
                normalization: try DatasetLoader.normalization(config.data, channels: shape[0]))
        }
        worker = ImageWorker(pipeline: pipeline)
        dataset = config.data.dataset
        labelMode = config.data.labelMode
        normalization = try DatasetLoader.normalization(config.data, channels: shape[0])
    }

    /// Image files: the arguments that are files, and every .jpg/.jpeg/.png below the ones that are folders (sorted).
    public static func imageFiles(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw DataError.fileNotFound(path: path)
            }
            if !isFolder.boolValue {
                files.append(path)
                continue
            }
            // The image folders' walk: torchvision's order, links followed, other image types refused.
            files += try ImageFileList.imageFiles(below: path).map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }

    /// The top `k` classes of each file, `batchSize` images per forward pass.
    public func predict(_ files: [String], topK k: Int, batchSize: Int = 32) -> [Result] {
        let shape = worker.pipeline.outputShape, size = shape.reduce(1, *)
        var results: [Result] = []
        var start = 0
        while start < files.count {
            let chunk = Array(files[start..<min(start + batchSize, files.count)])
            start += chunk.count
            var readable: [(file: String, row: Int)] = [], failed: [Int: String] = [:]
            let input = Tensor(shape: [chunk.count] + shape)
            for (index, file) in chunk.enumerated() {
                do {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw DataError.fileNotFound(path: file)
                    }
                    var random: RandomGenerator?
                    try data.withUnsafeBytes { bytes in
                        try worker.transform(bytes, random: &random, into: input.pointer + readable.count * size)
                    }
                    readable.append((file, index))
                } catch let error as ImageDecodingError {
                    failed[index] = error.reason
                } catch {
                    failed[index] = "\(error)"
                }
            }
            var guesses: [Int: [Guess]] = [:]
            if !readable.isEmpty {
                input.reshape(readable.count, shape[0], shape[1], shape[2])
                let logits = model.forward(input)
                for (row, item) in readable.enumerated() {
                    guesses[item.row] = top(logits.pointer + row * model.classes, k: k)
                }
            }
            for (index, file) in chunk.enumerated() {
                results.append(Result(file: file, top: guesses[index] ?? [], error: failed[index]))
            }
        }
        return results
    }

    /// The top `k` classes of each record of a record file (MNIST IDX images, CIFAR batches), as
    /// the trainer validates them: centre-cropped to the model's input where larger, normalised.
    public func predictRecords(_ path: String, topK k: Int, batchSize: Int = 32) throws -> [Result] {
        let (images, labelled) = try RecordFile.read(path, dataset: dataset, labelMode: labelMode)
        let shape = model.inputShape, side = shape[1]
        guard images.channels == shape[0], images.height >= side, images.width >= side else {
            throw DataError.badDimensions(path: path, reason: "its \(images.channels)x\(images.height)x\(images.width) "
                + "images do not fit the model's input \(shape.map(String.init).joined(separator: "x"))")
        }
        let crop = RandomCrop(size: side, padding: 0)
        let origin = crop.centerOrigin(height: images.height, width: images.width)
        let size = shape.reduce(1, *), plane = side * side
        var results: [Result] = []
        let input = Tensor(shape: [0])
        var start = 0
        while start < images.count {
            let rows = start..<min(start + batchSize, images.count)
            input.reshape(rows.count, shape[0], side, side)
            images.pixels.withUnsafeBufferPointer { pixels in
                guard let base = pixels.baseAddress else { return }
                for (row, index) in rows.enumerated() {
                    let target = input.pointer + row * size
                    crop.copy(base + index * images.imageSize, channels: images.channels, height: images.height,
                              width: images.width, top: origin.top, left: origin.left, into: target)
                    normalization?.apply(to: target, plane: plane)
                }
            }
            let logits = model.forward(input)
            for (row, index) in rows.enumerated() {
                results.append(Result(file: "\(path)#\(index)", label: labelled ? Int(images.labels[index]) : nil,
                                      top: top(logits.pointer + row * model.classes, k: k)))
            }
            start = rows.upperBound
        }
        return results
    }

    /// Softmax of one row of logits, its `k` largest (ties: the lower class first).
    func top(_ logits: UnsafePointer<Float>, k: Int) -> [Guess] {
        let classes = model.classes
        let largest = (0..<classes).map { Double(logits[$0]) }.max() ?? 0
        let exponentials = (0..<classes).map { Foundation.exp(Double(logits[$0]) - largest) }
        let total = exponentials.reduce(0, +)
        return (0..<classes).sorted {
            exponentials[$0] > exponentials[$1] || (exponentials[$0] == exponentials[$1] && $0 < $1)
        }
        .prefix(k).map { Guess(class: $0, name: classNames?[$0], probability: exponentials[$0] / total) }
    }
}
