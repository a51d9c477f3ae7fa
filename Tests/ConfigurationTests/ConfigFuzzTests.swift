import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Configuration

/// Seeded, bounded fuzzing of the config parser: mutations of every shipped config and of a custom
/// architecture must give a config or a clear error (file, line, key), never a crash or a hang.
final class ConfigFuzzTests: XCTestCase {
    func testMutatedConfigsParseOrFailClearly() throws {
        let configs = TrainingFixtures.repositoryRoot.appendingPathComponent("configs")
        var inputs = try FileManager.default.contentsOfDirectory(atPath: configs.path).sorted()
            .filter { $0.hasSuffix(".yaml") }.map { try [UInt8](Data(contentsOf: configs.appendingPathComponent($0))) }
        inputs.append(Array("""
            model:
              name: fuzz
              layers:
                - conv2d: {out: 8, kernel: [3, 3], padding: 1, bias: false}
                - batchnorm2d: {eps: 0.001}
                - residual:
                    layers: [conv2d: {out: 8, kernel: 3, padding: 1}, relu]
                    shortcut: [conv2d: {out: 8, kernel: 1}]
                - concat: {branches: [[maxpool2d: {kernel: 2}], [avgpool2d: {kernel: 2}]]}
                - flatten
                - linear: {}
            lr_schedule: {name: multistep, milestones: [2, 4]}
            data: {augment: {random_crop: {size: 24, padding: 2}}, normalize: {mean: [0.5], std: [0.25]}}

            """.utf8))
        var mutator = FuzzMutator(seed: 7)
        let punctuation = ": -[]{},\n#~'\"&*!|>%@`".map { Array(String($0).utf8) }
            + [Array("\n  ".utf8), Array("e-".utf8)]
        var parsed = 0, refused = 0
        let start = Date()
        for iteration in 0..<2_000 {
            let mutated = mutator.mutate(inputs[iteration % inputs.count], insertions: punctuation)
            let text = String(decoding: mutated, as: UTF8.self)
            do {
                _ = try TrainConfig.parse(yaml: text, source: "fuzz.yaml",
                                          knownModels: ["lenet5", "resnet20", "alexnet"], dataPathGiven: true)
                parsed += 1
            } catch let errors as ConfigErrors {
                XCTAssertFalse(errors.problems.isEmpty)
                for problem in errors.problems { XCTAssertTrue("\(problem)".hasPrefix("fuzz.yaml"), "\(problem)") }
                refused += 1
            } catch let error as ConfigError {
                XCTAssertTrue("\(error)".hasPrefix("fuzz.yaml"), "\(error)")
                refused += 1
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "2,000 parses must not hang")
        XCTAssertGreaterThan(parsed, 50)
        XCTAssertGreaterThan(refused, 500)
    }
}
