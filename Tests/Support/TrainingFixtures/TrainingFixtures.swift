import Configuration
import Foundation

/// Small, fast training configurations for tests.
public enum TrainingFixtures {
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// LeNet-5 on a small synthetic set: `trainSamples / batch` steps per epoch.
    public static func smallSynthetic(runDirectory: String, trainSamples: Int = 640, epochs: Int = 1,
                               batch: Int = 64) -> TrainConfig {
        var config = TrainConfig()
        config.data.dataset = "synthetic"
        config.data.trainSamples = trainSamples
        config.data.validationSamples = 256
        config.training.epochs = epochs
        config.training.batchSize = batch
        config.training.seed = 5
        config.training.threads = 1
        config.runDirectory = runDirectory
        return config
    }

    /// The YAML of `config`, written to a file in `directory`, for runs of the command-line tool.
    public static func write(_ config: TrainConfig, in directory: String, name: String = "config.input.yaml") throws -> String {
        let path = directory + "/" + name
        try config.resolvedYAML().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
