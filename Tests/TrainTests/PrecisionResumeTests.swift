import Foundation
import Reports
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import TensorCore
@testable import Train

/// Checkpoints hold Float32 master weights in either precision: an fp32 run resumes in bf16 and
/// back (`--precision`), with a note, and the bf16 continuation tracks the fp32 one.
final class PrecisionResumeTests: XCTestCase {
    private func resume(_ directory: String, epochs: Int, precision: ComputePrecision) throws
        -> (history: [EpochMetrics], lines: [String])
    {
        var overrides = ConfigOverrides()
        overrides.epochs = epochs
        overrides.precision = precision
        var given = TrainConfig()
        try given.apply(overrides, knownModels: Catalog.models)
        var lines: [String] = []
        let history = try TrainingLauncher.run(
            config: given,
            options: StartOptions(resume: .path(directory), configFileGiven: false, overrides: overrides),
            log: { lines.append($0) })
        return (history, lines)
    }

    /// The dtypes in a safetensors header (8-byte length, then JSON).
    private func dtypes(_ path: String) throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        return Set(header.values.compactMap { ($0 as? [String: Any])?["dtype"] as? String })
    }

    func testFP32RunResumesInBFloat16AndBack() throws {
        let directory = ProcessRunner.temporaryDirectory("resume-bf16")
        let twin = ProcessRunner.temporaryDirectory("resume-bf16-twin")
        try TrainingLauncher.run(
            config: TrainingFixtures.smallSynthetic(runDirectory: directory, epochs: 1),
            log: { _ in })
        try FileManager.default.removeItem(atPath: twin)
        try FileManager.default.copyItem(atPath: directory, toPath: twin)
        try? FileManager.default.removeItem(atPath: twin + "/.lock")

        let bf16 = try resume(directory, epochs: 2, precision: .bf16)
        XCTAssertTrue(bf16.lines.contains("note: resuming with training.precision: fp32 → bf16"), "\(bf16.lines)")
        let fp32 = try resume(twin, epochs: 2, precision: .fp32)
        XCTAssertEqual(bf16.history.map(\.epoch), [2])
        XCTAssertEqual(fp32.history.map(\.epoch), [2])
        // The same epoch from the same weights: bf16 products change the losses by well under 5 %.
        let (a, b) = (try XCTUnwrap(bf16.history.first), try XCTUnwrap(fp32.history.first))
        XCTAssertNotEqual(a.trainLoss, b.trainLoss, "bf16 computed exactly what fp32 did")
        XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 0.05 * b.trainLoss)
        XCTAssertEqual(a.validationLoss, b.validationLoss, accuracy: 0.05 * b.validationLoss)
        let written = try TrainConfig.load(file: directory + "/config.yaml", knownModels: Catalog.models)
        XCTAssertEqual(written.training.precision, .bf16)
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: directory + "/checkpoints")
            .filter { $0.hasPrefix("step-") }.sorted()
        let last = try XCTUnwrap(checkpoints.last)
        XCTAssertEqual(try dtypes(directory + "/checkpoints/" + last), ["F32"], "a bf16 run's checkpoint \(last)")

        let back = try resume(directory, epochs: 3, precision: .fp32)
        XCTAssertTrue(back.lines.contains("note: resuming with training.precision: bf16 → fp32"), "\(back.lines)")
        XCTAssertEqual(back.history.map(\.epoch), [3])
    }
}
