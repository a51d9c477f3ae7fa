import Checkpoint
import Configuration
import Datasets
import Distributed
import Foundation
import NN
import Optim
import Reports
import TensorCore

/// How a run starts: fresh, from a checkpoint (exactly where it left off), or with weights
/// from a file (fine-tuning).
public struct StartOptions: Equatable, Sendable {
    public enum Resume: Equatable, Sendable {
        /// The checkpoint `latest` points at in the run directory.
        case latest
        case path(String)
    }

    public var resume: Resume?
    /// Weights only (parameters and buffers), checked strictly against the model.
    public var initFrom: String?
    /// With `initFrom`: the model's classifier stays freshly initialised (added to `init.exclude`).
    public var resetHead: Bool
    /// Steps to profile layer by layer after the first (`--profile-steps`); 0: none.
    public var profileSteps: Int
    /// Where a config without `run_dir` runs: `runs/<runName>/version_N` (the config file's stem).
    public var runName: String
    /// A config file was given: a resume runs it (else the checkpoint's config, with `overrides`).
    public var configFileGiven: Bool
    /// The command line's flags and `--set`s, applied to the checkpoint's config on a resume.
    public var overrides: ConfigOverrides
    /// A resume may change keys that change the numbers (each change is listed).
    public var allowConfigChange: Bool

    public init(resume: Resume? = nil, initFrom: String? = nil, resetHead: Bool = false, profileSteps: Int = 0,
                runName: String = "default",
                configFileGiven: Bool = true, overrides: ConfigOverrides = ConfigOverrides(),
                allowConfigChange: Bool = false) {
        self.resume = resume
        self.initFrom = initFrom
        self.resetHead = resetHead
        self.profileSteps = profileSteps
        self.runName = runName
        self.configFileGiven = configFileGiven
        self.overrides = overrides
        self.allowConfigChange = allowConfigChange
    }
}

/// The training loop: per step shard batch → forward → loss → backward → average gradients
/// → SGD; per epoch validation, coordinator decisions (learning rate, stop), a log line, a
/// metrics record and a checkpoint. Rank 0 is the coordinator and the only writer.
public final class Trainer {
    /// The run's config; on rank 0 with the run directory it chose where the config named none.
    public private(set) var config: TrainConfig
    public let communicator: Communicator
    public let model: Model
    let optimizer: SGD
    let data: RunData
    /// Training batches, augmented and made ahead on a background queue (`data.prefetch`).
    let trainBatches: BatchPrefetcher
    let trainSampler: BatchSampler
    let evaluator: Evaluator
    let logger: Logger
    let log: (String) -> Void
    let reporter: StepReporter
    let runDirectory: RunDirectory?
    let checkpoints: CheckpointStore?
    let buckets: GradientBuckets
    /// Gradient accumulation's micro-batches; nil: each rank's batch in one pass.
    let microBatches: MicroBatches?
    /// `--profile-steps`: the steps still to profile; nil: none (or reported).
    private var stepProfile: StepProfile?
    let bufferBroadcast: BufferBroadcast
    let schedule: LearningRateController
    /// Where the run stands; restored from a checkpoint on resume.
    public private(set) var progress: TrainingProgress
    private var resumedAtStep: Int?
    let loss: ClassificationLoss

    /// Messages at every level as lines to `log`, for tests and library use.
    public convenience init(config: TrainConfig, communicator: Communicator = SingleProcessCommunicator(),
                            options: StartOptions = StartOptions(), loss: ClassificationLoss = SoftmaxCrossEntropy(),
                            log: @escaping (String) -> Void) throws {
        try self.init(config: config, communicator: communicator, options: options, loss: loss,
                      logger: Logger(level: .info, lines: log))
    }

    /// `loss`: softmax cross-entropy (the default), or another classification loss.
    public init(config: TrainConfig, communicator: Communicator = SingleProcessCommunicator(),
                options: StartOptions = StartOptions(), loss: ClassificationLoss = SoftmaxCrossEntropy(),
                logger: Logger = .standard()) throws {
        self.config = config
        let given = config
        self.loss = loss
        (loss as? SoftmaxCrossEntropy)?.labelSmoothing = Float(config.training.labelSmoothing)
        self.communicator = communicator
        let logger = communicator.isCoordinator ? logger : .silent
        self.logger = logger
        self.log = { logger.info($0) }

        // A data set this build cannot load fails first, before the run directory is touched.
        try DatasetLoader.checkAvailable(config.data)
        // Before any collective, so every rank stops alike (a resume checks its own config below).
        try Trainer.checkMicroBatches(config, worldSize: communicator.worldSize)
        // CNN_DIST_ISA too, on every rank whatever the precision: a bf16 path this CPU lacks stops the run here.
        try BFloat16ISA.activate()
        if let initFrom = options.initFrom, options.resume != nil {
            throw TrainError.runDirectory(path: initFrom, reason: "--init-from starts a new run from these weights and "
                + "--resume continues one from its checkpoint: give one of them")
        }
        if options.resetHead && options.initFrom == nil {
            throw TrainError.initialWeights(reason: "--reset-head re-initialises the classifier of weights loaded with "
                + "--init-from: give --init-from PATH")
        }
        // The collectives below depend on how the run starts: every rank must start alike.
        try Trainer.agreeOnStart(options, communicator: communicator)
        // The checkpoint a resume starts from, read (and verified) once: its config, then its state.
        var resumed: (checkpoint: CheckpointFile, path: String)?
        var store: CheckpointStore?
        if communicator.isCoordinator {
            self.config.runDirectory = try Trainer.chooseRunDirectory(config, options)
            let directory = try Trainer.openRunDirectory(self.config, resuming: options.resume != nil)
            runDirectory = directory
            if let resume = options.resume {
                let path = try Trainer.checkpointPath(resume, runDirectory: directory.path)
                let checkpoint = try CheckpointFile.load(path: path)
                self.config = try ResumeConfig.effective(
                    given: self.config, savedYAML: checkpoint.info.config, checkpoint: path,
                    options: options, note: { logger.warning($0) })
                resumed = (checkpoint, path)
            }
            // After a resume's config is known: its keep_last decides which checkpoints stay.
            store = try CheckpointStore(runDirectory: directory.path, keepLast: self.config.checkpoint.keepLast)
        } else {
            runDirectory = nil
        }
        checkpoints = store
        if options.resume != nil {
            self.config = try Trainer.coordinatorsConfig(self.config, given: given, communicator: communicator)
            // The launcher sized threads and the collective timeout from the command line's config.
            Parallel.threadCount = TrainingLauncher.threadsPerRank(configured: self.config.training.threads,
                                                                   ranksOnNode: communicator.localSize)
            (communicator as? MPICommunicator)?.timeout = self.config.distributed.timeoutSeconds
        }
        let config = self.config
        try Trainer.checkMicroBatches(config, worldSize: communicator.worldSize)
        let localBatch = config.training.batchSize / max(1, communicator.worldSize)

        let data = try RunData(config)
        self.data = data
        let makers = data.makers
        model = try data.makeModel(config.model)
        model.setPrecision(config.training.precision)
        if config.training.precision == .bf16 {
            logger.debug("training.precision bf16: convolutions and linear layers on the \(BFloat16ISA.active) path "
                + "(CPU: \(CPUFeatures.current.relevantPresent.joined(separator: " ")))")
        }
        if options.resetHead {  // recorded in the run's config.yaml as what it is: an exclusion
            let excluded = self.config.initialization.exclude
            self.config.initialization.exclude += ParameterPatterns.head(of: model).filter { !excluded.contains($0) }
        }
        if options.initFrom != nil {  // on every rank, so a typo stops them all alike
            try ParameterPatterns.requireEachMatches(
                self.config.initialization.exclude,
                names: model.namedParameters().map(\.name) + model.namedBuffers().map(\.name), key: "init.exclude")
        }
        microBatches = config.training.microBatches > 1 ? MicroBatches(count: config.training.microBatches) : nil
        stepProfile = options.profileSteps > 0 ? StepProfile(steps: options.profileSteps) : nil
        try MemoryBudget.checkTraining(model, batch: localBatch / config.training.microBatches,
                                       imageShape: data.makers.train.imageShape, prefetch: config.data.prefetch,
                                       ranksOnNode: communicator.localSize)
        model.initializeParameters(seed: config.training.seed)
        let frozen = try ParameterPatterns.matching(config.training.freeze, in: model, key: "training.freeze")
        optimizer = SGD(parameters: model.namedParameters().filter { !frozen.contains($0.name) }, options: SGD.Options(
            learningRate: config.optimizer.lr, momentum: config.optimizer.momentum,
            dampening: config.optimizer.dampening, nesterov: config.optimizer.nesterov,
            weightDecay: config.optimizer.weightDecay))
        if !frozen.isEmpty {
            let values = model.namedParameters().filter { frozen.contains($0.name) }
                .reduce(0) { $0 + $1.parameter.count }
            log("frozen (training.freeze): \(frozen.count) parameter tensors, \(values) values")
        }
        if options.initFrom == nil && options.resume == nil && !config.initialization.exclude.isEmpty {
            logger.warning("note: init.exclude applies to weights loaded with --init-from; this run starts from "
                + "fresh weights, so it changes nothing")
        }
        trainSampler = try BatchSampler(sampleCount: data.trainCount, globalBatchSize: config.training.batchSize,
                                        rank: communicator.rank, worldSize: communicator.worldSize,
                                        shuffle: config.data.shuffle, seed: config.training.seed, dropLast: true)
        trainBatches = BatchPrefetcher(maker: makers.train, sampler: trainSampler, depth: config.data.prefetch)
        evaluator = try Evaluator(model: model, batches: makers.validation, globalBatchSize: config.training.batchSize,
                                  communicator: communicator)
        schedule = try LearningRateController(config: config, stepsPerEpoch: trainSampler.batchesPerEpoch)
        progress = TrainingProgress(learningRate: config.optimizer.lr)
        let parameters = model.namedParameters().map(\.parameter)
        buckets = GradientBuckets(parameters: parameters,
                                  capacityBytes: Int(config.distributed.bucketMegabytes * 1_048_576),
                                  communicator: communicator)
        buckets.attach(to: model)
        buckets.compressesToBFloat16 = config.distributed.allReduceDType == .bf16
        if microBatches != nil { buckets.enableAccumulation() }
        bufferBroadcast = BufferBroadcast(model: model, communicator: communicator)
        reporter = StepReporter(logger: logger, runDirectory: runDirectory, epochs: config.training.epochs,
                                stepsPerEpoch: trainSampler.batchesPerEpoch, progressEvery: config.logEvery,
                                recordEvery: config.metrics.everySteps,
                                totalSteps: min(config.training.epochs * trainSampler.batchesPerEpoch,
                                                config.training.maxSteps ?? Int.max))

        if communicator.worldSize > 1 {  // the facts include a digest of the executable: not for one rank
            try RankAgreement.verify(RankAgreement.facts(config: given, model: model, trainCount: data.trainCount,
                                                         validationCount: data.validationCount,
                                                         bucketCount: buckets.bucketCount, classNames: data.classNames),
                                     communicator: communicator)
        }
        // Rank 0 reads any file and then hands its state to every rank: other nodes need no
        // shared file system, and replicas start identical whatever their seeds.
        if communicator.isCoordinator {
            if let path = options.initFrom { try loadInitialWeights(path) }
            if let resumed { try restore(resumed.checkpoint, path: resumed.path) }
        }
        try synchronizeStart()
        try startRunFiles()
    }

    /// Each rank's share of a batch divides into `training.micro_batches` equal micro-batches.
    /// (A batch that does not divide over the ranks is the sampler's error to name.)
    private static func checkMicroBatches(_ config: TrainConfig, worldSize: Int) throws {
        let batch = config.training.batchSize, parts = config.training.microBatches, ranks = max(1, worldSize)
        guard parts > 1, batch % ranks == 0, (batch / ranks) % parts != 0 else { return }
        throw DataError.invalidBatch("training.micro_batches \(parts) does not divide each rank's \(batch / ranks) "
            + "images of a batch (training.batch_size \(batch) over \(ranks) ranks) into equal micro-batches")
    }

    /// The config's `run_dir`, or else a new `runs/<name>/version_N` (a bare `--resume`: the newest
    /// version with checkpoints).
    private static func chooseRunDirectory(_ config: TrainConfig, _ options: StartOptions) throws -> String {
        if let directory = config.runDirectory { return directory }
        let base = RunFolders.base(name: options.runName)
        switch options.resume {
        case .latest?: return try RunFolders.latest(base: base)
        case .path(let path)?:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue {
                return path  // a run folder continues there
            }
            // A checkpoint of a run folder (<run>/checkpoints/step-….safetensors) continues that run there.
            let folder = (path as NSString).deletingLastPathComponent
            if (folder as NSString).lastPathComponent == "checkpoints" {
                return (folder as NSString).deletingLastPathComponent
            }
            return try RunFolders.fresh(base: base)
        case nil: return try RunFolders.fresh(base: base)
        }
    }

    /// The run directory (checked before any work: an unwritable one fails first, and a fresh run
    /// never writes over another run's checkpoints).
    private static func openRunDirectory(_ config: TrainConfig, resuming: Bool) throws -> RunDirectory {
        let path = config.runDirectory ?? RunFolders.root
        let directory = try RunDirectory(path: path)  // locked first: a run still writing here is named
        if !resuming && CheckpointStore.hasCheckpoints(runDirectory: path) {
            throw TrainError.runDirectory(path: path, reason: "already holds a run's checkpoints; "
                + "continue it with --resume, or choose another --run-dir (or none: each run gets a new folder)")
        }
        return directory
    }

    /// Every rank was started alike (--resume or not, --init-from or not); else they would issue
    /// different collectives.
    private static func agreeOnStart(_ options: StartOptions, communicator: Communicator) throws {
        guard communicator.worldSize > 1 else { return }
        let mode = (options.resume == nil ? 0.0 : 1) + (options.initFrom == nil ? 0 : 2)
        let modes = communicator.allGather(mode)
        guard Set(modes).count > 1 else { return }
        func describe(_ mode: Double) -> String {
            ["a fresh start", "--resume", "--init-from", "--resume and --init-from"][Int(mode)]
        }
        let others = Set(modes.dropFirst().filter { $0 != modes[0] }).sorted().map { value in
            (value: describe(value), ranks: modes.indices.filter { modes[$0] == value })
        }
        throw TrainError.ranksDisagree([RankAgreement.Difference(fact: "how the run starts",
                                                                 coordinatorValue: describe(modes[0]), others: others)])
    }

    /// A resume runs rank 0's config (only rank 0 reads the checkpoint), keeping this rank's own
    /// per-node settings (data paths, threads, workers…).
    private static func coordinatorsConfig(_ config: TrainConfig, given: TrainConfig,
                                           communicator: Communicator) throws -> TrainConfig {
        guard communicator.worldSize > 1 else { return config }
        var shared = ["config": config.resolvedYAML()]
        try communicator.broadcast(&shared, root: 0)
        guard !communicator.isCoordinator else { return config }
        var adopted = try TrainConfig.parse(yaml: shared["config"] ?? "", source: "rank 0's config",
                                            knownModels: Catalog.models)
        // A per-node key this rank was given (differing from the default) stays this rank's.
        let defaults = TrainConfig()
        for key in ConfigSchema.keys where RankAgreement.perRankKeys.contains(key.path)
            && key.valueText(in: given) != key.valueText(in: defaults) {
            try key.copy(from: given, into: &adopted)
        }
        return adopted
    }

    /// config.yaml, and metrics.jsonl / steps.jsonl started afresh or cut after the resumed step.
    private func startRunFiles() throws {
        try runDirectory?.writeConfig(config.resolvedYAML())
        if let names = data.classNames { try runDirectory?.writeClassNames(names) }
        if let resumedAtStep {
            try runDirectory?.resumeMetrics(atStep: resumedAtStep)
        } else {
            try runDirectory?.startMetrics()
        }
        if config.metrics.everySteps > 0 { try runDirectory?.startSteps(resumedAtStep: resumedAtStep) }
        if config.metrics.tensorBoard {
            try runDirectory?.startTensorBoard(resumedAtStep: resumedAtStep, config: config.resolvedYAML())
        }
    }

    private func loadInitialWeights(_ path: String) throws {
        let file = try SafeTensors.read(path: path)
        if file.metadata["format"] == CheckpointFile.formatName {
            _ = try CheckpointFile.verified(file, path: path)  // the checksum of a cnn-dist checkpoint
        }
        let exclude = config.initialization.exclude  // its patterns checked in init, on every rank
        try ModelStateLoader.loadWeights(file, path: path, into: model) { ParameterPatterns.matches($0, exclude) }
        log("initialised weights from \(path)"
            + (exclude.isEmpty ? "" : ", except \(exclude.joined(separator: ", ")) (freshly initialised)"))
    }

    /// The checkpoint a resume starts from: the run directory's latest, a given file, or a given run
    /// folder's latest.
    private static func checkpointPath(_ resume: StartOptions.Resume, runDirectory: String) throws -> String {
        switch resume {
        case .latest: return try CheckpointStore.latest(inRunDirectory: runDirectory)
        case .path(let given):
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory)
            return exists && isDirectory.boolValue ? try CheckpointStore.latest(inRunDirectory: given) : given
        }
    }

    private func restore(_ checkpoint: CheckpointFile, path: String) throws {
        let saved = checkpoint.info
        let shape = model.inputShape.map(String.init).joined(separator: "x")
        guard saved.model == model.name, saved.inputShape == shape, saved.classes == model.classes else {
            throw CheckpointError.incompatible(
                path: path, reason: "it holds model \(saved.model) for input \(saved.inputShape) and \(saved.classes) "
                    + "classes; this run builds \(model.name) for \(shape) and \(model.classes) classes")
        }
        try ModelStateLoader.loadWeights(checkpoint.file, path: path, into: model)
        ModelStateLoader.loadMomentum(checkpoint.file, into: optimizer)
        guard saved.progress.batchInEpoch <= trainSampler.batchesPerEpoch else {
            throw CheckpointError.incompatible(
                path: path, reason: "it stopped at batch \(saved.progress.batchInEpoch) of an epoch, and this run's "
                    + "epochs have \(trainSampler.batchesPerEpoch) batches (another batch size or data set?)")
        }
        progress = saved.progress
        try schedule.restore(progress.schedulerState, source: path)
        if saved.worldSize != communicator.worldSize {
            logger.warning("note: checkpoint was written by \(saved.worldSize) rank(s), resuming on "
                + "\(communicator.worldSize): same global batch and data order, gradient sums in another order "
                + "(results match to rounding, not bit for bit)")
        }
        resumedAtStep = progress.globalStep
        log("resumed from \(path) at epoch \(progress.epoch + 1), step \(progress.globalStep)")
    }

    /// Every rank takes rank 0's parameters, buffers, momentum and progress.
    private func synchronizeStart() throws {
        guard communicator.worldSize > 1 else { return }
        ReplicaSynchronization.broadcastFromCoordinator(model, communicator: communicator)
        // The progress record travels in its checkpoint encoding, so its fields are declared once.
        var entries = try MetadataCoder.encode(progress)
        try communicator.broadcast(&entries, root: 0)
        progress = try MetadataCoder.decode(TrainingProgress.self, from: entries)
        // Which parameters have a momentum buffer: all or none after a plain resume, some when a
        // resume unfroze parameters (their buffers start fresh, as in PyTorch), so the pattern
        // travels too and every rank holds rank 0's.
        var flags: [Double] = [resumedAtStep.map(Double.init) ?? -1]
            + optimizer.momentumBuffers.map { $0 == nil ? 0 : 1 }
        communicator.broadcast(&flags, root: 0)
        resumedAtStep = flags[0] < 0 ? nil : Int(flags[0])
        if !communicator.isCoordinator {
            optimizer.setMomentumBuffers(zip(optimizer.parameters, flags.dropFirst()).map { entry, present in
                present > 0 ? Tensor(shape: entry.parameter.value.shape) : nil
            })
        }
        for case let buffer? in optimizer.momentumBuffers { communicator.broadcast(buffer.buffer, root: 0) }
    }

    // MARK: the loop

    /// Why `run` returned.
    public enum Outcome: Equatable, Sendable {
        case completed, earlyStopped, maxSteps, signalled
    }

    public private(set) var outcome = Outcome.completed

    /// Trains until the configured epochs, max steps, early stopping or a stop signal;
    /// returns the metrics of the epochs finished in this session.
    @discardableResult
    public func run() throws -> [EpochMetrics] {
        StopSignals.install()
        log("cnn-dist: \(model.name) (\(model.parameterCount) parameters), \(data.name) \(data.trainCount) train / "
            + "\(data.validationCount) validation, global batch \(config.training.batchSize), "
            + "\(communicator.worldSize) rank(s) (\(communicator.backendName)) × \(Parallel.threadCount) thread(s), "
            + "\(buckets.bucketCount) gradient bucket(s)")
        if let runDirectory { log("run directory: \(runDirectory.path)") }
        (sessionStart, elapsedBefore) = (Date(), progress.elapsedSeconds)
        var history: [EpochMetrics] = []
        if config.training.maxSteps == progress.globalStep {
            try finish(.maxSteps)
            return history
        }
        defer { trainBatches.stop() }
        while progress.epoch < config.training.epochs {
            let epochStart = Date()
            let (images, stopped) = try trainEpoch()
            if let stopped {
                try finish(stopped)
                return history
            }
            let (metrics, earlyStop) = try endEpoch(images: images, seconds: Date().timeIntervalSince(epochStart))
            history.append(metrics)
            if earlyStop {
                log("early stopping: \(config.validation.monitor.rawValue) has not improved for "
                    + "\(config.earlyStopping.patience ?? 0) epoch(s)")
                try finish(.earlyStopped, save: false)
                return history
            }
        }
        try finish(.completed, save: false)
        return history
    }

    /// Which rank arrived last at each step's all-reduce, this epoch (logged at debug level).
    private lazy var stragglers = StragglerTally(ranks: communicator.worldSize)

    /// Training images replaced in this epoch (since the resume, in a resumed epoch), all ranks.
    private var epochReplacedImages = 0

    /// Wall time of the whole run, earlier sessions included (checkpoints record it).
    private var sessionStart = Date()
    private var elapsedBefore = 0.0
    private func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(sessionStart) }

    /// The rest of the epoch in progress, step by step; the images trained on, and why it stopped
    /// early (a stop signal, max_steps), if it did.
    private func trainEpoch() throws -> (images: Int, stopped: Outcome?) {
        model.setTraining(true)
        trainBatches.start(epoch: progress.epoch, batch: progress.batchInEpoch)
        reporter.epochStarted()
        epochReplacedImages = 0
        var images = 0
        while progress.batchInEpoch < trainSampler.batchesPerEpoch {
            let step = try profiledStep()
            try account(step)
            epochReplacedImages += step.global.replacedImages
            stragglers.record(lastToArrive: buckets.lastToArrive)
            images += Int(step.global.count)
            try reportStep(step, elapsed: elapsed())
            try afterStep(elapsed: elapsed())
            if step.global.stopRequested {
                log("stop requested (SIGTERM/SIGINT): saving at step \(progress.globalStep)")
                return (images, .signalled)
            }
            if let maxSteps = config.training.maxSteps, progress.globalStep >= maxSteps { return (images, .maxSteps) }
        }
        return (images, nil)
    }

    /// An epoch's end: replica check, validation, the coordinator's decisions, the epoch's record and
    /// log line, checkpoints. Returns the record and whether early stopping ends the run.
    private func endEpoch(images: Int, seconds: Double) throws -> (EpochMetrics, earlyStop: Bool) {
        enter(.replicaCheck)
        try ReplicaSynchronization.verify(model, communicator: communicator, step: progress.globalStep)
        let validated = try evaluate()
        let metric = config.validation.monitor == .validationAccuracy ? validated.accuracy : validated.meanLoss
        let decision = try coordinate(metric: metric)
        var metrics = EpochMetrics(
            epoch: progress.epoch + 1, step: progress.globalStep, learningRate: optimizer.learningRate,
            trainLoss: progress.epochLossSum / max(progress.epochCount, 1),
            trainAccuracy: progress.epochCorrect / max(progress.epochCount, 1),
            validationLoss: validated.meanLoss, validationAccuracy: validated.accuracy,
            imagesPerSecond: Double(images) / max(seconds, 1e-9), time: elapsed())
        metrics.validationTop5 = data.datasetClasses >= 5 ? validated.top5Accuracy : nil
        let replaced = epochReplacedImages + Int(validated.replacedImages)
        metrics.replacedImages = replaced > 0 ? replaced : nil
        metrics.resumedAtStep = resumedAtStep
        resumedAtStep = nil
        metrics.learningRateDrop = decision.drop.map { LearningRateDrop(old: $0.old, new: $0.new) }
        log(metrics.logLine(epochs: config.training.epochs))
        if communicator.worldSize > 1, let summary = stragglers.summary {
            logger.debug("epoch \(metrics.epoch) " + summary)
        }
        stragglers.reset()
        if let drop = decision.drop {
            log(String(format: "plateau: epoch %d %@ %.6g did not improve; learning rate %.6g → %.6g",
                       progress.epoch + 1, config.validation.monitor.rawValue, metric, drop.old, drop.new))
        }
        try runDirectory?.appendMetrics(metrics)
        progress.epoch += 1
        progress.batchInEpoch = 0
        (progress.epochLossSum, progress.epochCorrect, progress.epochCount) = (0, 0, 0)
        try saveAtEpochEnd(decision)
        return (metrics, decision.stop)
    }

    /// The epoch's checkpoint (every_epochs, the last epoch, an early stop) and best.safetensors.
    private func saveAtEpochEnd(_ decision: LearningRateController.Decision) throws {
        let last = progress.epoch == config.training.epochs
        let save = config.checkpoint.everyEpochs > 0 && progress.epoch % config.checkpoint.everyEpochs == 0
        guard save || decision.improved || decision.stop || last,
              let bytes = try checkpointBytes(elapsed: elapsed()) else { return }
        if save || decision.stop || last { try saveCheckpoint(bytes) }
        if decision.improved { try checkpoints?.saveBest(bytes) }
    }

    /// One optimizer step: forward, loss, backward (each gradient bucket's all-reduce starts as
    /// backward fills it), wait for the averaged gradients, update. Every rank updates or skips alike.
    func trainStep(_ batch: Batch) -> StepResult {
        enter(.training, step: progress.globalStep + 1)
        optimizer.learningRate = schedule.learningRate(progress)
        buckets.beginStep()
        for path in batch.replaced { logger.warning("unreadable image replaced (data.on_bad_image: skip): \(path)") }
        let local = microBatches.map { forwardBackward(batch, in: $0) } ?? forwardBackward(batch)
        buckets.finishStep()
        bufferBroadcast.synchronize()
        let step = StepResult(local: local, global: buckets.summedControls)
        guard step.updated else { return step }
        profiled(.optimizer) {
            // After the all-reduce, so every rank sees the same norm and clips alike.
            if let maxNorm = config.training.clipGradientNorm {
                GradientClipping.clip(optimizer.parameters.map(\.parameter), maxNorm: maxNorm)
            }
            optimizer.step()
        }
        return step
    }

    /// The next batch's step, under the layer profiler for the steps `--profile-steps` covers; the
    /// profile is logged (and written to the run directory as profile.json) once they are done.
    private func profiledStep() throws -> StepResult {
        guard let stepProfile, stepProfile.covers(step: progress.globalStep + 1) else {
            return trainStep(try trainBatches.next())
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let batch = try trainBatches.next()
        let dataSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        LayerProfiler.active = stepProfile.profiler
        let step = trainStep(batch)
        LayerProfiler.active = nil
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 - dataSeconds
        stepProfile.add(stepSeconds: seconds, dataSeconds: dataSeconds, waitSeconds: buckets.lastWaitSeconds)
        if stepProfile.isComplete {
            let batch = trainSampler.globalBatchSize / communicator.worldSize
            let report = try stepProfile.report(model: model, batch: batch)
            log("profile of steps \(progress.globalStep + 2 - stepProfile.steps)–\(progress.globalStep + 1) "
                + "(rank 0):\n" + report.table.trimmingCharacters(in: .newlines))
            try runDirectory?.writeProfile(report.json)
            self.stepProfile = nil
        }
        return step
    }

    /// `body`, timed as `section` of the step when the step is profiled.
    private func profiled<T>(_ section: StepProfile.Section, _ body: () -> T) -> T {
        guard let stepProfile, LayerProfiler.active != nil else { return body() }
        return stepProfile.time(section, body)
    }

    /// The batch's loss and gradients; its controls start out with the gradients' all-reduce.
    private func forwardBackward(_ batch: Batch) -> SoftmaxCrossEntropy.Result {
        model.beginStep(seed: config.training.seed, step: progress.globalStep, rank: communicator.rank)
        let logits = model.forward(batch.input)
        let local = profiled(.loss) { loss.forward(logits: logits, labels: batch.labels, gradientScale: nil) }
        sendControls(local, batch)
        model.backward(loss.gradient)
        return local
    }

    /// Gradient accumulation: each micro-batch's gradient of the whole batch's mean loss (scale
    /// 1/batch), summed by the buckets, is the batch's gradient; one all-reduce, after the last.
    private func forwardBackward(_ batch: Batch, in micro: MicroBatches) -> SoftmaxCrossEntropy.Result {
        let scale = 1 / Float(max(batch.labels.count, 1))
        var total: SoftmaxCrossEntropy.Result?
        for index in 0..<micro.count {
            micro.load(index, of: batch)
            model.beginStep(seed: config.training.seed, step: progress.globalStep, rank: communicator.rank,
                            microBatch: index)
            let logits = model.forward(micro.input)
            var part = profiled(.loss) { loss.forward(logits: logits, labels: micro.labels, gradientScale: scale) }
            if let earlier = total {
                part.lossSum += earlier.lossSum
                part.correct += earlier.correct
                part.count += earlier.count
            }
            total = part
            let isLast = index == micro.count - 1
            if isLast { sendControls(part, batch) }
            buckets.beginMicroBatch(isLast: isLast)
            model.backward(loss.gradient)
            if !isLast { buckets.keepMicroBatchGradients() }
        }
        guard let total else { preconditionFailure("micro-batches: none") }
        return total
    }

    private func sendControls(_ local: SoftmaxCrossEntropy.Result, _ batch: Batch) {
        buckets.send(StepControls(local: local, stopRequested: StopSignals.isRequested,
                                  replacedImages: batch.replaced.count))
    }

    /// Counts a step into the run's progress; a non-finite loss stops the run or skips the step
    /// (`training.on_nonfinite`), decided from the sums every rank sees.
    private func account(_ step: StepResult) throws {
        if step.updated {
            // A skipped step's batch stays out of the epoch's training loss and accuracy.
            progress.epochLossSum += step.global.lossSum
            progress.epochCorrect += step.global.correct
            progress.epochCount += step.global.count
        } else {
            guard config.training.onNonFinite == .skip else {
                throw TrainError.nonFiniteLoss(epoch: progress.epoch + 1, step: progress.globalStep + 1,
                                               value: step.local.lossSum.isFinite ? nil
                                                   : step.local.lossSum / Double(max(step.local.count, 1)))
            }
            logger.warning("step \(progress.globalStep + 1): non-finite loss on some rank; step skipped "
                + "(training.on_nonfinite: skip)")
        }
        progress.globalStep += 1
        progress.batchInEpoch += 1
    }

    /// Step-level checkpoints and validation.
    private func afterStep(elapsed: Double) throws {
        let step = progress.globalStep
        if config.checkpoint.everySteps > 0 && step % config.checkpoint.everySteps == 0,
           let bytes = try checkpointBytes(elapsed: elapsed) {
            try saveCheckpoint(bytes)
        }
        if config.distributed.checkEvery > 0 && step % config.distributed.checkEvery == 0 {
            enter(.replicaCheck)
            try ReplicaSynchronization.verify(model, communicator: communicator, step: step)
        }
        if config.validation.everySteps > 0 && step % config.validation.everySteps == 0 {
            let validated = try evaluate()
            model.setTraining(true)
            try reporter.validated(step: step, epoch: progress.epoch, batchInEpoch: progress.batchInEpoch,
                                   result: validated, time: elapsed)
        }
    }

    /// Progress output and the steps.jsonl record of the step just taken (figures summed over ranks).
    private func reportStep(_ step: StepResult, elapsed: Double) throws {
        let skipped = !step.updated
        try reporter.stepFinished(StepSample(
            step: progress.globalStep, epoch: progress.epoch, batchInEpoch: progress.batchInEpoch,
            learningRate: optimizer.learningRate, lossSum: skipped ? 0 : step.global.lossSum,
            correct: skipped ? 0 : step.global.correct, count: skipped ? 0 : step.global.count,
            epochLoss: progress.epochLossSum / max(progress.epochCount, 1),
            epochAccuracy: progress.epochCorrect / max(progress.epochCount, 1),
            allReduceWaitSeconds: buckets.lastWaitSeconds, time: elapsed))
    }

    /// Rank 0 decides the learning rate and whether to stop; every rank applies its decision.
    private func coordinate(metric: Double) throws -> LearningRateController.Decision {
        var decision = LearningRateController.Decision()
        enter(.epochEnd)
        if communicator.isCoordinator {
            decision = schedule.epochEnded(metric: metric, progress: &progress)
        }
        var shared = [progress.learningRate, decision.stop ? 1 : 0, decision.improved ? 1 : 0,
                      decision.drop?.old ?? -1, decision.drop?.new ?? -1]
        communicator.broadcast(&shared, root: 0)
        progress.learningRate = shared[0]
        decision.stop = shared[1] > 0
        decision.improved = shared[2] > 0
        decision.drop = shared[3] >= 0 ? (old: shared[3], new: shared[4]) : nil
        return decision
    }

    /// The checkpoint's bytes (rank 0 only; nil elsewhere). Refuses non-finite weights, so a
    /// diverging run never replaces good checkpoints with NaN ones.
    private func checkpointBytes(elapsed: Double) throws -> Data? {
        guard communicator.isCoordinator else { return nil }
        for (name, parameter) in model.namedParameters()
        where !Reduction.allFinite(parameter.value.pointer, count: parameter.count) {
            throw TrainError.nonFiniteWeights(tensor: name, step: progress.globalStep)
        }
        progress.schedulerState = schedule.state
        progress.elapsedSeconds = elapsed
        return try CheckpointFile.encode(model: model, optimizer: optimizer, progress: progress,
                                     configYAML: config.resolvedYAML(), seed: config.training.seed,
                                     worldSize: communicator.worldSize, classNames: data.classNames)
    }

    private func saveCheckpoint(_ bytes: Data) throws {
        guard let checkpoints else { return }
        let path = try checkpoints.save(bytes, step: progress.globalStep)
        log("checkpoint: \(path)")
    }

    private func finish(_ outcome: Outcome, save: Bool = true) throws {
        self.outcome = outcome
        enter(.finishing)
        if save, let bytes = try checkpointBytes(elapsed: elapsed()) { try saveCheckpoint(bytes) }
        if communicator.worldSize > 1 {
            try ReplicaSynchronization.verify(model, communicator: communicator, step: progress.globalStep)
            log("replicas verified identical on all \(communicator.worldSize) ranks at step \(progress.globalStep)")
        }
        var metadata = ["model": model.name, "step": String(progress.globalStep),
                        "world_size": String(communicator.worldSize)]
        if let names = data.classNames {
            metadata["class_names"] = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        }
        try runDirectory?.writeModel(model, metadata: metadata)
        runDirectory?.release()
        if let runDirectory {
            logger.endLiveLine()
            let summary = RunSummary(
                runDirectory: runDirectory.path, outcome: outcome, step: progress.globalStep, epoch: progress.epoch,
                batchInEpoch: progress.batchInEpoch, batchesPerEpoch: trainSampler.batchesPerEpoch,
                epochs: config.training.epochs, monitor: config.validation.monitor,
                records: runDirectory.epochRecords(),
                command: RunSummary.command(worldSize: communicator.worldSize,
                                            launchedByMPI: communicator is MPICommunicator),
                workersOption: communicator is InProcessCommunicator ? " --workers \(communicator.worldSize)" : "")
            for line in summary.lines { log(line) }
        }
    }

    /// Loss, top-1 and top-5 accuracy over the whole validation set (sharded across ranks).
    func evaluate() throws -> Evaluation {
        enter(.validation)
        let epoch = progress.epoch + 1
        evaluator.onBatch = { [reporter] in reporter.validating(epoch: epoch, batch: $0, batches: $1) }
        return try evaluator.evaluate()
    }

    /// Names what this rank does next, for the collective watchdog's reports; `step`: the step
    /// being taken, else the last one taken.
    private func enter(_ activity: CollectivePhase.Activity, step: Int? = nil) {
        communicator.phase = CollectivePhase(step: step ?? progress.globalStep, activity: activity)
    }
}
