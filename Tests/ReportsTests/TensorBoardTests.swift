import Foundation
import XCTest

@testable import Reports

/// TensorBoard events files: the checksums and wire encodings, a round trip through an
/// independent reader, and (where the peers' Python has the `tensorboard` package) TensorBoard's
/// own EventAccumulator reading a run, a resume and the config text.
final class TensorBoardTests: XCTestCase {
    func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "cnn-dist-reports-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func eventFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains("tfevents") }.sorted()
            .map { directory + "/" + $0 }
    }

    func testCRC32CVectors() {
        XCTAssertEqual(CRC32C.checksum(of: Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(of: [UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum(of: [UInt8]()), 0)
        // tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c's values.
        XCTAssertEqual(CRC32C.masked(of: Array("123456789".utf8)), 0xC78A_B0E5)
        XCTAssertEqual(CRC32C.masked(of: [UInt8](repeating: 0, count: 8)), 0x0798_0329)
    }

    func testVarints() {
        XCTAssertEqual(ProtobufEncoder.varint(0), [0x00])
        XCTAssertEqual(ProtobufEncoder.varint(1), [0x01])
        XCTAssertEqual(ProtobufEncoder.varint(127), [0x7F])
        XCTAssertEqual(ProtobufEncoder.varint(128), [0x80, 0x01])
        XCTAssertEqual(ProtobufEncoder.varint(300), [0xAC, 0x02])
        XCTAssertEqual(ProtobufEncoder.varint(UInt64.max), [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    func testFieldEncodings() {
        var message = ProtobufEncoder()
        message.integer(2, 150)
        message.integer(2, -1)
        message.double(1, 1.0)
        message.float(2, 0.5)
        message.string(3, "hi")
        var inner = ProtobufEncoder()
        inner.integer(1, 1)
        message.message(5, inner)
        XCTAssertEqual(
            message.encoded,
            [0x10, 0x96, 0x01]  // field 2 varint 150
                + [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01]  // -1: ten bytes
                + [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F]  // field 1 fixed64 1.0
                + [0x15, 0, 0, 0, 0x3F]  // field 2 fixed32 0.5
                + [0x1A, 0x02, 0x68, 0x69]  // field 3 "hi"
                + [0x2A, 0x02, 0x08, 0x01])  // field 5 { 1: 1 }
    }

    func testRecordFraming() throws {
        let data: [UInt8] = [1, 2, 3]
        let record = TFRecord.frame(data)
        XCTAssertEqual(record.count, 8 + 4 + 3 + 4)
        XCTAssertEqual(Array(record[0..<8]), [3, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try EventFileReader.records(record), [data])
        var corrupt = record
        corrupt[13] ^= 1
        XCTAssertThrowsError(try EventFileReader.records(corrupt))
    }

    func testWriterRoundTrip() throws {
        let directory = try temporaryDirectory("round-trip")
        let now = Date(timeIntervalSince1970: 1_700_000_000.25)
        let writer = try TensorBoardEventWriter(directory: directory, now: now, hostname: "node-1")
        XCTAssertEqual(writer.path, directory + "/events.out.tfevents.1700000000.node-1")
        try writer.addScalar(tag: "loss/train", value: 0.25, step: 100, wallTime: now.addingTimeInterval(1))
        try writer.addScalars([("a", 1.5), ("b", -2)], step: 200)
        try writer.addText(tag: "config", text: "lr: 0.1", step: 0)
        try writer.addSessionStart(step: 150)
        try writer.flush()
        writer.close()

        let events = try EventFileReader.events(atPath: writer.path)
        XCTAssertEqual(events.count, 5)
        XCTAssertEqual(events[0].fileVersion, "brain.Event:2")
        XCTAssertEqual(events[0].wallTime, 1_700_000_000.25)
        XCTAssertEqual(events[1].step, 100)
        XCTAssertEqual(events[1].wallTime, 1_700_000_001.25)
        XCTAssertEqual(events[1].values.map(\.tag), ["loss/train"])
        XCTAssertEqual(events[1].values.map(\.simpleValue), [0.25])
        XCTAssertEqual(events[2].step, 200)
        XCTAssertEqual(events[2].values.map(\.tag), ["a", "b"])
        XCTAssertEqual(events[2].values.map(\.simpleValue), [1.5, -2])
        let text = try XCTUnwrap(events[3].values.first)
        XCTAssertEqual(text.tag, "config")
        XCTAssertEqual(text.pluginName, "text")
        XCTAssertEqual(text.dtype, 7)
        XCTAssertEqual(text.dimensions, [])
        XCTAssertEqual(text.strings, ["lr: 0.1"])
        XCTAssertNil(text.simpleValue)
        XCTAssertEqual(events[4].step, 150)
        XCTAssertEqual(events[4].sessionStatus, 1)
        XCTAssertThrowsError(try writer.addScalar(tag: "late", value: 1, step: 1)) {
            XCTAssertEqual(
                "\($0)",
                "\(writer.path): cannot write to the TensorBoard events file (the writer was closed); "
                    + "is the disk full?")
        }
    }

    func testEachWriterStartsItsOwnFile() throws {
        let directory = try temporaryDirectory("files")
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let first = try TensorBoardEventWriter(directory: directory, now: now, hostname: "host")
        try first.addScalar(tag: "x", value: 1, step: 1)
        let second = try TensorBoardEventWriter(directory: directory, now: now, hostname: "host")
        XCTAssertEqual(second.path, first.path + ".1", "a name already taken is not reused")
        XCTAssertEqual(try eventFiles(directory), [first.path, second.path], "in the order TensorBoard reads them")
        XCTAssertEqual(try EventFileReader.events(atPath: first.path).count, 2, "the first file is left as it was")
    }

    func testUncreatableDirectoryIsNamed() throws {
        let directory = try temporaryDirectory("blocked")
        let file = directory + "/plain-file"
        try Data().write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try TensorBoardEventWriter(directory: file + "/run")) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(file)/run: cannot create the TensorBoard events file ("), "\(error)")
        }
    }

    func epochMetrics(_ epoch: Int, stepsPerEpoch: Int = 10) -> EpochMetrics {
        var metrics = EpochMetrics(
            epoch: epoch, step: epoch * stepsPerEpoch, learningRate: 0.1,
            trainLoss: 1 / Double(epoch), trainAccuracy: 0.5 + 0.1 * Double(epoch),
            validationLoss: 1.5 / Double(epoch), validationAccuracy: 0.45 + 0.1 * Double(epoch),
            imagesPerSecond: 1000, time: Double(epoch) * 2)
        metrics.validationTop5 = 0.9
        return metrics
    }

    func testRunRecordsEpochsStepsAndConfig() throws {
        let directory = try temporaryDirectory("run")
        let run = try TensorBoardRun(directory: directory)
        try run.recordConfig("model: resnet18\n")
        var metrics = epochMetrics(1)
        metrics.validationLoss = .nan  // absent
        metrics.validationTop5 = nil
        try run.record(metrics)
        try run.record(
            StepRecord.training(
                step: 5, epoch: 0.5, learningRate: 0.1, loss: 2.5, accuracy: 0.25,
                imagesPerSecond: 900, allReduceWaitSeconds: 0.002, time: 1))
        var validation = StepRecord(step: 10, epoch: 1, time: 2)
        validation.validationAccuracy = 0.5
        try run.record(validation)
        run.close()

        let events = try EventFileReader.events(atPath: run.path)
        XCTAssertEqual(events.count, 6)
        XCTAssertEqual(events[1].sessionStatus, 1, "a fresh run starts its session at step 0")
        XCTAssertEqual(events[1].step, 0)
        XCTAssertEqual(events[2].values.first?.strings, ["```yaml\nmodel: resnet18\n```\n"])
        XCTAssertEqual(events[3].step, 10)
        XCTAssertEqual(
            events[3].values.map(\.tag),
            [
                "loss/train", "accuracy/train", "accuracy/validation",
                "learning_rate", "throughput/images_per_second", "epoch",
            ])
        XCTAssertEqual(events[3].values.map(\.simpleValue), [1, 0.6, 0.55, 0.1, 1000, 1])
        XCTAssertEqual(events[4].step, 5)
        XCTAssertEqual(
            events[4].values.map(\.tag),
            [
                "step/loss", "step/accuracy", "step/learning_rate",
                "step/images_per_second", "step/allreduce_wait_ms",
            ])
        XCTAssertEqual(events[4].values.map(\.simpleValue), [2.5, 0.25, 0.1, 900, 2])
        XCTAssertEqual(events[5].values.map(\.tag), ["step/validation_accuracy"])
    }

    func testCodeBlockFenceOutgrowsBackticksInTheText() {
        XCTAssertEqual(TensorBoardRun.codeBlock("a", language: "yaml"), "```yaml\na\n```\n")
        XCTAssertEqual(TensorBoardRun.codeBlock("x: \"````\"\n", language: "yaml"), "`````yaml\nx: \"````\"\n`````\n")
    }

    /// The peers' Python (PEERS, default ~/.cache/cnn-dist-peers) with `tensorboard` importable.
    func tensorBoardPython() throws -> String {
        let root = ProcessInfo.processInfo.environment["PEERS"] ?? (NSHomeDirectory() + "/.cache/cnn-dist-peers")
        let python = root + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip(
                "skipped: no Python at \(python) to read the events file with TensorBoard "
                    + "(set PEERS to a venv, then \(root)/bin/pip install tensorboard)")
        }
        let check = try run(python, ["-c", "import tensorboard"])
        guard check.status == 0 else {
            throw XCTSkip(
                "skipped: \(python) cannot import tensorboard (\(root)/bin/pip install tensorboard): "
                    + (check.error.split(separator: "\n").last ?? ""))
        }
        return python
    }

    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let directory = try temporaryDirectory("process")
        let output = URL(fileURLWithPath: directory + "/out"), error = URL(fileURLWithPath: directory + "/err")
        try Data().write(to: output)
        try Data().write(to: error)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: error)
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus, try String(contentsOf: output, encoding: .utf8),
            try String(contentsOf: error, encoding: .utf8)
        )
    }

    static let accumulatorScript = """
        import json, sys
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.backend.event_processing import plugin_event_accumulator as pea
        from tensorboard.plugins.text import text_plugin
        from tensorboard.util import tensor_util
        acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
        acc.Reload()
        tags = acc.Tags()
        html = lambda event: text_plugin.text_array_to_html(tensor_util.make_ndarray(event.tensor_proto), True)
        # What the server's Python loader (--load_fast=false) keeps: scalars as tensors of the scalars plugin.
        server = pea.EventAccumulator(sys.argv[1], size_guidance={pea.TENSORS: 0})
        server.Reload()
        value = lambda event: float(tensor_util.make_ndarray(event.tensor_proto))
        scalar_tags = [t for t in server.Tags()["tensors"]
                       if server.SummaryMetadata(t).plugin_data.plugin_name == "scalars"]
        print(json.dumps({
            "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
            "texts": {t: [{"step": e.step, "text": e.tensor_proto.string_val[0].decode(), "html": html(e)}
                          for e in acc.Tensors(t)] for t in tags["tensors"]},
            "plugins": {t: acc.SummaryMetadata(t).plugin_data.plugin_name for t in tags["tensors"]},
            "serverScalars": {t: [[e.step, value(e)] for e in server.Tensors(t)] for t in scalar_tags},
        }))
        """

    struct Accumulated: Decodable {
        struct Text: Decodable {
            var step: Int
            var text: String
            var html: String
        }
        var scalars: [String: [[Double]]]
        var texts: [String: [Text]]
        var plugins: [String: String]
        var serverScalars: [String: [[Double]]]
    }

    /// Three epochs of 10 steps; a resume from the epoch-1 checkpoint (step 10) in a second file
    /// abandons epochs 2 and 3 and records new ones, which TensorBoard shows in their place.
    func testTensorBoardReadsTheRun() throws {
        let python = try tensorBoardPython()
        let directory = try temporaryDirectory("tensorboard")
        let first = try TensorBoardRun(directory: directory, now: Date(timeIntervalSince1970: 1_700_000_000))
        try first.recordConfig("model: lenet5\noptimizer:\n  lr: 0.1\n")
        for epoch in 1...3 {
            try first.record(
                StepRecord.training(
                    step: epoch * 10 - 5, epoch: Double(epoch) - 0.5, learningRate: 0.1,
                    loss: 2, accuracy: 0.5, imagesPerSecond: 800,
                    allReduceWaitSeconds: 0.004, time: Double(epoch)))
            try first.record(epochMetrics(epoch))
        }
        first.close()
        let resumed = try TensorBoardRun(
            directory: directory, resumedAtStep: 10,
            now: Date(timeIntervalSince1970: 1_700_000_100))
        for epoch in 2...3 {
            var metrics = epochMetrics(epoch)
            metrics.learningRate = 0.01
            try resumed.record(metrics)
        }
        resumed.close()
        XCTAssertEqual(try eventFiles(directory).count, 2)

        let result = try run(python, ["-c", Self.accumulatorScript, directory])
        XCTAssertEqual(result.status, 0, result.error)
        let read = try JSONDecoder().decode(Accumulated.self, from: Data(result.output.utf8))
        // Values as stored, Float.
        func points(_ tag: String) -> [[Float]]? { read.scalars[tag]?.map { $0.map { Float($0) } } }
        XCTAssertEqual(
            points("learning_rate"), [[10, 0.1], [20, 0.01], [30, 0.01]], "the abandoned epochs' are dropped")
        XCTAssertEqual(read.scalars["loss/train"]?.map { $0[0] }, [10, 20, 30])
        XCTAssertEqual(points("accuracy/validation"), [[10, 0.55], [20, 0.65], [30, 0.75]])
        XCTAssertEqual(points("accuracy/validation_top5"), [[10, 0.9], [20, 0.9], [30, 0.9]])
        XCTAssertEqual(points("step/allreduce_wait_ms"), [[5, 4]], "steps after the resume point are dropped")
        XCTAssertEqual(
            Set(read.scalars.keys),
            [
                "loss/train", "loss/validation", "accuracy/train", "accuracy/validation", "accuracy/validation_top5",
                "learning_rate", "throughput/images_per_second", "epoch", "step/loss", "step/accuracy",
                "step/learning_rate", "step/images_per_second", "step/allreduce_wait_ms",
            ])
        XCTAssertEqual(
            read.serverScalars.mapValues { $0.map { $0.map { Float($0) } } },
            read.scalars.mapValues { $0.map { $0.map { Float($0) } } },
            "the server's loader keeps the same points")
        XCTAssertEqual(read.plugins, ["config": "text"])
        let config = try XCTUnwrap(read.texts["config"])
        XCTAssertEqual(config.map(\.step), [0])
        XCTAssertEqual(config.first?.text, "```yaml\nmodel: lenet5\noptimizer:\n  lr: 0.1\n```\n")
        let html = try XCTUnwrap(config.first?.html)
        XCTAssertTrue(html.contains("<pre><code"), html)
        XCTAssertTrue(html.contains("  lr: 0.1"), "verbatim, indentation kept: \(html)")
    }
}
