import Datasets
import Optim
import TensorCore

/// The whole configuration of a training run. Every key is optional; `TrainConfig()` is
/// the built-in default (LeNet-5 on the synthetic data set), identical to configs/default.yaml.
public struct TrainConfig: Equatable, Sendable {
    public var model = ModelSection()
    public var initialization = InitSection()
    public var data = DataSection()
    public var training = TrainingSection()
    public var optimizer = OptimizerSection()
    public var lrSchedule = ScheduleSection()
    public var distributed = DistributedSection()
    public var validation = ValidationSection()
    public var checkpoint = CheckpointSection()
    public var earlyStopping = EarlyStoppingSection()
    public var metrics = MetricsSection()
    /// Directory for config.yaml, metrics.jsonl and the model's weights; nil: a new
    /// `runs/<config name>/version_N` for each fresh run.
    public var runDirectory: String?
    /// Steps between plain progress lines (output not a terminal); 0: no progress output, epoch lines only.
    public var logEvery = 50

    public init() {}
}

/// How a run that starts from given weights (`--init-from`) takes them.
public struct InitSection: Equatable, Sendable {
    /// Glob patterns of tensor names left as freshly initialised instead of loaded (a new classifier).
    public var exclude: [String] = []
}

public struct ModelSection: Equatable, Sendable {
    /// A zoo model, or any name for a custom architecture given in `layers`.
    public var name = "lenet5"
    /// Output classes; nil takes the data set's.
    public var classes: Int?
    /// A custom architecture; nil builds the zoo model `name`.
    public var layers: [LayerSpec]?
}

/// Per-channel normalisation (`data.normalize.mean` / `.std`).
public struct NormalizeSection: Equatable, Sendable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        self.mean = mean
        self.std = std
    }
}

public struct DataSection: Equatable, Sendable {
    public var dataset = "synthetic"
    /// Data set directory (MNIST); relative paths are taken from the working directory.
    public var path: String?
    public var trainSamples = 12_000
    public var validationSamples = 2_000
    /// MNIST with only the t10k files: the first `trainSplit` images train, the rest validate.
    public var trainSplit = 8_000
    /// `data.normalize.mean` and `.std`; nil: the data set's documented default.
    public var normalizeMean: [Double]?
    public var normalizeStd: [Double]?
    public var shuffle = true
    /// CIFAR-100: train on the "fine" (100) or "coarse" (20) labels.
    public var labelMode = CIFAR100.LabelMode.fine
    /// Training augmentation (validation is never augmented).
    public var augment = AugmentSection()
    /// Training batches made ahead on a background queue; 0: each made when the step needs it.
    public var prefetch = 2
    /// Image folders: the training and validation folders (or list files); nil: `path`/train and `path`/val.
    public var trainPath: String?
    public var validationPath: String?
    /// Image folders read through list files: one class name per line; nil: the label numbers.
    public var classesFile: String?
    /// Image folders: channels decoded (1: luma, 3: RGB), the side of the square images the
    /// model sees, and the shorter side images are resized to before the crop (nil: 256/224 of it).
    public var channels = 3
    public var imageSize = 224
    public var resize: Int?
    /// Image folders: decoding threads per rank.
    public var workers = 2
    /// Image folders: what an unreadable image does.
    public var onBadImage = BadImagePolicy.error
    /// Image folders: decode JPEGs at 1/2, 1/4 or 1/8 size where the crop allows.
    public var reducedDecoding = true

    /// The shorter side image folders are resized to before the centre (or random) crop.
    public var resolvedResize: Int { resize ?? imageSize * 256 / 224 }
}

public struct AugmentSection: Equatable, Sendable {
    /// Random crop of `randomCropSize` after zero padding by `randomCropPadding` (no size: none).
    public var randomCropSize: Int?
    public var randomCropPadding = 0
    public var horizontalFlip = false
    /// PCA lighting jitter's alpha std (0: off).
    public var lighting = 0.0
    /// Image folders: torchvision's RandomResizedCrop to `data.image_size` instead of resize and crop.
    public var randomResizedCrop = false
    public var randomResizedCropScale = [0.08, 1.0]
    public var randomResizedCropRatio = [3.0 / 4.0, 4.0 / 3.0]
    /// Image folders: ColorJitter's brightness, contrast and saturation (0: off).
    public var brightness = 0.0
    public var contrast = 0.0
    public var saturation = 0.0

    public init(randomCrop: RandomCrop? = nil, horizontalFlip: Bool = false, lighting: Double = 0) {
        randomCropSize = randomCrop?.size
        randomCropPadding = randomCrop?.padding ?? 0
        self.horizontalFlip = horizontalFlip
        self.lighting = lighting
    }
}


public struct TrainingSection: Equatable, Sendable {
    public var epochs = 10
    /// The global batch, split evenly over ranks.
    public var batchSize = 64
    public var seed: UInt64 = 1
    /// Compute threads per rank; 0 shares the node's cores among its ranks.
    public var threads = 0
    /// Stop after this many optimizer steps in all (saving a checkpoint); nil: train all epochs.
    public var maxSteps: Int?
    /// What a non-finite training loss does: stop the run, or skip the step.
    public var onNonFinite = NonFiniteLossAction.stop
    /// Convolutions and linear layers in Float32, or in bf16 as torch.autocast (master weights stay Float32).
    public var precision = ComputePrecision.fp32
    /// torch's `CrossEntropyLoss(label_smoothing=…)` for the training loss.
    public var labelSmoothing = 0.0
    /// torch's `clip_grad_norm_(parameters, max_norm)` on the averaged gradients; nil: no clipping.
    public var clipGradientNorm: Double?
    /// Each rank's share of a batch is computed in this many micro-batches whose gradients add up
    /// (gradient accumulation): the same step in less memory.
    public var microBatches = 1
    /// Glob patterns of parameter names kept fixed (PyTorch's `requires_grad = False`).
    public var freeze: [String] = []
}

public struct OptimizerSection: Equatable, Sendable {
    public var name = OptimizerName.sgd
    public var lr = 0.05
    public var momentum = 0.9
    public var dampening = 0.0
    public var nesterov = false
    public var weightDecay = 0.0005
}

public struct ScheduleSection: Equatable, Sendable {
    public var name = ScheduleName.constant
    /// What step_size, milestones and t_max count: epochs or optimizer steps.
    public var unit = ScheduleUnit.epoch
    public var stepSize = 30
    public var gamma = 0.1
    public var milestones: [Int] = []
    /// Cosine period; nil: the whole run (epochs, or epochs × steps per epoch).
    public var tMax: Int?
    public var etaMin = 0.0
    /// Linear warm-up over this many optimizer steps, from warmup_start_factor · lr to lr.
    public var warmupSteps = 0
    public var warmupStartFactor = 1.0 / 3.0
    // ReduceLROnPlateau, on validation.monitor:
    public var factor = 0.1
    public var patience = 10
    public var threshold = 1e-4
    public var thresholdMode = ThresholdMode.rel
    public var cooldown = 0
    public var minLR = 0.0
    public var eps = 1e-8
}

public struct ValidationSection: Equatable, Sendable {
    /// Also validate every N steps (logged); 0: at epoch ends only.
    public var everySteps = 0
    /// The metric plateau drops, early stopping and best.safetensors follow: val_loss or val_accuracy.
    public var monitor = MonitoredMetric.validationLoss
    /// nil: min for val_loss, max for val_accuracy.
    public var mode: MetricMode?

    public var resolvedMode: MetricMode { mode ?? (monitor == .validationAccuracy ? .max : .min) }
}

public struct CheckpointSection: Equatable, Sendable {
    /// Save at the end of every N epochs (0: not by epoch).
    public var everyEpochs = 1
    /// Save every N optimizer steps (0: not by step).
    public var everySteps = 0
    /// Step checkpoints kept (older ones are deleted; best.safetensors is kept apart).
    public var keepLast = 3
}

public struct EarlyStoppingSection: Equatable, Sendable {
    /// Stop after this many epochs without improvement of validation.monitor; nil: never.
    public var patience: Int?
    public var threshold = 0.0
}

public struct MetricsSection: Equatable, Sendable {
    /// Steps between records in steps.jsonl; 0: no step stream.
    public var everySteps = 10
    /// TensorBoard events file in the run directory, beside metrics.jsonl.
    public var tensorBoard = true
}

public struct DistributedSection: Equatable, Sendable {
    /// Gradient bucket size for the overlapped all-reduce, in MiB (DDP's bucket_cap_mb).
    public var bucketMegabytes = 25.0
    /// Steps between replica consistency checks (also at every epoch end); 0: epoch ends only.
    public var checkEvery = 100
    /// Seconds any collective may wait for the other ranks before the job ends, naming the ranks
    /// that did not arrive (PyTorch's process-group timeout, Horovod's stall shutdown).
    public var timeoutSeconds = 300.0
    /// Gradients all-reduced as Float32, or as bf16 (Horovod's compression: half the bytes).
    public var allReduceDType = AllReduceDType.fp32
}

extension DataSection {
    /// Both of `data.normalize`'s lists, when the config gives them.
    public var normalize: NormalizeSection? {
        get { normalizeMean.flatMap { mean in normalizeStd.map { NormalizeSection(mean: mean, std: $0) } } }
        set {
            normalizeMean = newValue?.mean
            normalizeStd = newValue?.std
        }
    }
}

extension AugmentSection {
    public var randomCrop: RandomCrop? {
        get { randomCropSize.map { RandomCrop(size: $0, padding: randomCropPadding) } }
        set {
            randomCropSize = newValue?.size
            randomCropPadding = newValue?.padding ?? 0
        }
    }
}
