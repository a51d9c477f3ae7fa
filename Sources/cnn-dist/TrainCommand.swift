import ArgumentParser
import Configuration
import Distributed
import Foundation
import TensorCore
import Train

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config (built-in defaults: LeNet-5 on synthetic data).")

    @Option(name: .long, help: "YAML config file (keys and defaults in README.md).")
    var config: String?
    @Option(name: .long, help: "Number of epochs.") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Global batch size (split over ranks).") var batchSize: Int?
    @Option(name: .long, help: "Base learning rate.") var lr: Double?
    @Option(name: .customLong("data"), help: "Dataset directory (data.path).") var dataPath: String?
    @Option(name: .long, help: "Random seed.") var seed: UInt64?
    @Option(name: .long, help: "Compute threads per rank (0 = automatic).") var threads: Int?
    @Option(name: .customLong("run-dir"), help: "Run directory, exactly (default: a new runs/<config name>/version_N).")
    var runDir: String?
    @Option(name: .long, help: "Without mpirun: run N data-parallel ranks as threads of this process.")
    var workers: Int?
    @Option(name: .long, help: ArgumentHelp(
        "Continue a run exactly, with its own config: `--resume` takes the run directory's latest checkpoint, "
            + "`--resume PATH` a given checkpoint or run folder.", valueName: "path"))
    var resume: String?
    @Flag(name: .customLong("allow-config-change"), help: """
        With --resume: accept a config that changes what the run computes (batch size, data, model, seed, \
        optimizer…); each change is listed.
        """)
    var allowConfigChange = false
    @Option(name: .customLong("init-from"), help: "Start from these weights (fine-tuning); tensors must match the model, except those init.exclude names.")
    var initFrom: String?
    @Flag(name: .customLong("reset-head"),
          help: """
              With --init-from: leave the model's classifier (its last layer) freshly initialised, for another \
              class count (adds it to init.exclude).
              """)
    var resetHead = false
    @Option(name: .customLong("profile-steps"), help: """
        Time every layer over N steps after the first and print where the time goes (forward, input and \
        weight gradient, GFLOP/s, kernels; loss, optimizer, all-reduce and data waits); also written to \
        the run directory as profile.json.
        """)
    var profileSteps = 0
    @Option(name: .customLong("max-steps"), help: "Train exactly N optimizer steps in all, save a checkpoint and exit (0: save the initial model).")
    var maxSteps: Int?
    @Flag(name: .customLong("no-shuffle"), help: "Process training samples in file order (data.shuffle: false).")
    var noShuffle = false
    @Option(name: .long, help: "Model from the zoo (model.name).") var model: String?
    @Option(name: .long, help: "Dataset name (data.dataset).") var dataset: String?
    @Option(name: .long, help: "fp32 or bf16 (training.precision; bf16 as torch.autocast, CNN_DIST_ISA forces a path).")
    var precision: ComputePrecision?
    @Option(name: .long, help: "Training batches made ahead on a background queue (data.prefetch; 0: none).") var prefetch: Int?
    @Option(name: .customLong("set"), help: ArgumentHelp("Set any config key (repeatable): --set optimizer.lr=0.1; `cnn-dist config keys` lists them.", valueName: "key=value"))
    var settings: [String] = []
    @Flag(name: .long, help: "Print nothing but errors (same as --log-level error).") var quiet = false
    @Option(name: .customLong("log-level"), help: ArgumentHelp("error, warning, info or debug (debug adds each step's all-reduce wait).", valueName: "level"))
    var logLevel: String = "info"

    /// What a bare `--resume` becomes (see `CNNDist.main`).
    static let latest = "@latest"

    func validate() throws {
        guard Logger.Level(name: logLevel) != nil else {
            throw ValidationError("--log-level must be error, warning, info or debug, got '\(logLevel)'")
        }
        guard (0...1_000_000).contains(profileSteps) else {
            throw ValidationError("--profile-steps must lie in 0...1000000, got \(profileSteps)")
        }
    }

    func run() throws {
        let logger = Logger.standard(level: quiet ? .error : Logger.Level(name: logLevel) ?? .info,
                                     isTerminal: ProcessOutput.isInteractiveTerminal)
        do {
            var overrides = ConfigOverrides()
            overrides.epochs = epochs
            overrides.batchSize = batchSize
            overrides.lr = lr
            overrides.dataPath = dataPath
            overrides.seed = seed
            overrides.threads = threads
            overrides.runDirectory = runDir
            overrides.maxSteps = maxSteps
            overrides.noShuffle = noShuffle
            overrides.model = model
            overrides.dataset = dataset
            overrides.prefetch = prefetch
            overrides.precision = precision
            overrides.settings = settings
            let trainConfig = try TrainConfig.load(file: config, overrides: overrides, knownModels: Catalog.models)
            // Runs of a config without run_dir go to runs/<its file name>/version_N.
            let runName = config.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
                ?? "default"
            let options = StartOptions(resume: resume.map { $0 == TrainCommand.latest ? .latest : .path($0) },
                                       initFrom: initFrom, resetHead: resetHead,
                                       profileSteps: profileSteps, runName: runName, configFileGiven: config != nil,
                                       overrides: overrides, allowConfigChange: allowConfigChange)
            try TrainingLauncher.run(config: trainConfig, workers: workers, options: options, logger: logger)
        } catch {
            logger.endLiveLine()  // the error starts a line of its own
            throw error
        }
    }
}
