import Datasets
import Foundation
import Optim
import TensorCore
import Yams

/// Every key a config may hold, one declaration each: path, type (from the field), rule,
/// meaning. The default is what `TrainConfig()` holds. Order is the resolved config.yaml's order.
public enum ConfigSchema {
    static let positiveInteger = ValueRule<Int>.atLeast(1, "a positive integer")
    static let countOrZero = ValueRule<Int>.atLeast(0, "0 or more")
    static let rateOrZero = ValueRule<Double>.atLeast(0, "0 or more")
    static let unitInterval = ValueRule<Double>.within(0, 1, lowerOpen: true)
    // Ceilings far above any real run: past them sizes overflow, allocations never end, or Int
    // conversions trap.
    static let imageCount = positiveInteger.and(.atMost(10_000_000, "images held in memory"))
    static let stepCount = ValueRule<Int>.atMost(1_000_000_000_000, "optimizer steps")
    static let jitterAmount = rateOrZero.and(.atMost(100, "a factor"))

    public static let keys: [ConfigKey] = [
        .key("model.name", \.model.name,
             "model from the zoo, or any name for a custom architecture (`custom` when `layers` is given without one)"),
        .key("model.classes", \.model.classes,
             .atLeast(2, "at least 2").and(.atMost(1_000_000, "a classifier's outputs")),
             "output classes; null: the data set's"),
        .custom("model.layers", typeName: "list of layers or null",
                "a custom architecture instead of a zoo model (see Custom architectures)",
                read: { config in
                    guard let layers = config.model.layers else { return Node("null", Tag(.null), .plain) }
                    // A layer whose text did not compose would be written as a string, which reads back as
                    // an error rather than as a model without that layer.
                    return Node(layers.map { (try? Yams.compose(yaml: $0.flowYAML)) ?? Node($0.flowYAML) },
                                Tag(.seq), .block)
                },
                store: { config, node, source in
                    config.model.layers = ConfigNodes.isNull(node)
                        ? nil : try LayerSpecDecoder(source: source).layers(node, path: "model.layers")
                }),
        .key("init.exclude", \.initialization.exclude,
             "with --init-from: tensors left freshly initialised instead of loaded, as glob patterns of their names "
                 + "(`fc.*`: a new classifier for another class count; --reset-head picks the model's last layer)"),
        .key("data.dataset", \.data.dataset,
             "one of \(DatasetFacts.names.joined(separator: ", ")); the model's input shape and classes follow from it"),
        .key("data.path", \.data.path, "data set directory (required for files-based data sets), relative to the working directory"),
        .key("data.train_samples", \.data.trainSamples, imageCount, "synthetic: training images generated"),
        .key("data.validation_samples", \.data.validationSamples, imageCount, "synthetic: validation images generated"),
        .key("data.train_split", \.data.trainSplit, imageCount,
             "MNIST with only the t10k files: the first N train, the rest validate"),
        .key("data.normalize.mean", \.data.normalizeMean,
             "per-channel mean subtracted from pixels in [0, 1] (with `std`); null: the data set's"),
        .key("data.normalize.std", \.data.normalizeStd,
             ValueRule(requirement: "be positive (it divides)", summary: "each > 0") { $0.allSatisfy { $0 > 0 } },
             "per-channel std the pixels are divided by (with `mean`); null: the data set's"),
        .key("data.shuffle", \.data.shuffle, "reshuffle the training set every epoch (a pure function of seed and epoch)"),
        .key("data.label_mode", \.data.labelMode, "CIFAR-100: the 100 fine or the 20 coarse labels"),
        .key("data.augment.random_crop.size", \.data.augment.randomCropSize, positiveInteger,
             "random S×S crop after padding (validation takes the centre crop); null: none"),
        .key("data.augment.random_crop.padding", \.data.augment.randomCropPadding,
             countOrZero.and(.atMost(10_000, "pixels of padding")),
             "zero padding on each side before the random crop"),
        .key("data.augment.horizontal_flip", \.data.augment.horizontalFlip,
             "flip each training image left–right with probability 0.5"),
        .key("data.augment.lighting", \.data.augment.lighting,
             .atLeast(0, "0 (off) or a positive alpha std such as 0.1"),
             "AlexNet's PCA lighting jitter: alpha std (RGB data sets); 0: off"),
        .key("data.augment.random_resized_crop.enabled", \.data.augment.randomResizedCrop,
             "image folders: torchvision's RandomResizedCrop to image_size (instead of resize + crop)"),
        .key("data.augment.random_resized_crop.scale", \.data.augment.randomResizedCropScale,
             ValueRule(requirement: "be [low, high] with 0 < low ≤ high ≤ 1", summary: "[low, high] in (0, 1]") {
                 $0.count == 2 && $0[0] > 0 && $0[0] <= $0[1] && $0[1] <= 1
             },
             "share of the image's area the crop covers, drawn uniformly"),
        .key("data.augment.random_resized_crop.ratio", \.data.augment.randomResizedCropRatio,
             ValueRule(requirement: "be [low, high] with 0 < low ≤ high ≤ 100",
                       summary: "[low, high], 0 < low ≤ high") {
                 $0.count == 2 && $0[0] > 0 && $0[0] <= $0[1] && $0[1] <= 100
             },
             "crop aspect (width / height), drawn log-uniformly"),
        .key("data.augment.color_jitter.brightness", \.data.augment.brightness, jitterAmount,
             "image folders: ColorJitter brightness: factor uniform in [max(0, 1 − b), 1 + b]; 0: off"),
        .key("data.augment.color_jitter.contrast", \.data.augment.contrast, jitterAmount,
             "image folders: ColorJitter contrast; 0: off"),
        .key("data.augment.color_jitter.saturation", \.data.augment.saturation, jitterAmount,
             "image folders: ColorJitter saturation; 0: off"),
        .key("data.prefetch", \.data.prefetch,
             .atLeast(0, "0 (no prefetching) or more").and(.atMost(64, "batches held in memory")),
             "training batches made ahead on a background queue; 0: on the training thread"),
        .key("data.train_path", \.data.trainPath,
             "image folders: the training class folders, or a list file of `path label` lines; null: <path>/train"),
        .key("data.val_path", \.data.validationPath,
             "image folders: the validation class folders or list file; null: <path>/val"),
        .key("data.classes_file", \.data.classesFile,
             "image folders given as list files: class names, one per line in label order; null: the label numbers"),
        .key("data.channels", \.data.channels,
             ValueRule(requirement: "be 1 (grey) or 3 (RGB)", summary: "1 or 3") { $0 == 1 || $0 == 3 },
             "image folders: channels decoded (1: luma, 3: RGB)"),
        .key("data.image_size", \.data.imageSize, positiveInteger.and(.atMost(8_192, "pixels a side")),
             "image folders: side of the square images the model sees"),
        .key("data.resize", \.data.resize, positiveInteger.and(.atMost(16_384, "pixels")),
             "image folders: shorter side before the crop (validation; training unless random_resized_crop); "
                 + "null: image_size × 256/224"),
        .key("data.workers", \.data.workers, positiveInteger.and(.atMost(256, "threads per rank")),
             "image folders: decoding and augmentation threads per rank"),
        .key("data.on_bad_image", \.data.onBadImage,
             "image folders: an unreadable image stops the run (error), or the next image of its batch "
                 + "stands in for it (skip)"),
        .key("data.dct_scaling", \.data.reducedDecoding,
             "image folders: decode training JPEGs at 1/2, 1/4 or 1/8 size when the crop keeps at least the "
                 + "output's pixels (validation always decodes at full size)"),
        .key("training.epochs", \.training.epochs, positiveInteger.and(.atMost(1_000_000, "epochs")),
             "epochs to train"),
        .key("training.batch_size", \.training.batchSize, positiveInteger.and(.atMost(1_000_000, "images per step")),
             "the global batch, split evenly over ranks"),
        .key("training.seed", \.training.seed, "seeds initialisation, shuffling, augmentation and synthetic data"),
        .key("training.threads", \.training.threads,
             .atLeast(0, "0 (automatic) or more").and(.atMost(4_096, "threads per rank")),
             "compute threads per rank; 0: the node's cores shared among its ranks"),
        .key("training.max_steps", \.training.maxSteps, countOrZero.and(stepCount),
             "stop after this many optimizer steps in all, saving a checkpoint; null: train all epochs"),
        .key("training.label_smoothing", \.training.labelSmoothing,
             ValueRule(requirement: "lie in [0, 1)", summary: "[0, 1)") { $0 >= 0 && $0 < 1 },
             "training loss with targets (1 − ε)·onehot + ε/classes "
                 + "(torch's CrossEntropyLoss(label_smoothing=ε)); validation loss stays plain cross-entropy"),
        .key("training.clip_grad_norm", \.training.clipGradientNorm, .above(0, "positive"),
             "scale the averaged gradients so their global L2 norm is at most this (torch's clip_grad_norm_); "
                 + "null: no clipping"),
        .key("training.micro_batches", \.training.microBatches, positiveInteger.and(.atMost(4096, "micro-batches")),
             "gradient accumulation: each rank computes its share of a batch in this many equal micro-batches and "
                 + "adds their gradients, one all-reduce and one optimizer step per batch (the same step in less "
                 + "memory; BatchNorm sees micro-batch statistics, as in PyTorch)"),
        .key("training.freeze", \.training.freeze,
             "parameters kept fixed, as glob patterns of their names (`features.*`): no update, weight decay "
                 + "or momentum (PyTorch's requires_grad = False; BatchNorm running statistics still update in "
                 + "training mode, as in PyTorch); each pattern must match a parameter"),
        .key("training.on_nonfinite", \.training.onNonFinite,
             "a NaN/Inf training loss on any rank: stop with an error, or skip the step on all ranks"),
        .key("training.precision", \.training.precision,
             "compute precision of convolutions and linear layers: fp32, or bf16 as torch.autocast(\"cpu\", "
                 + "dtype=torch.bfloat16) (bf16 inputs and weights, Float32 sums, bf16 outputs; BatchNorm, loss, "
                 + "optimizer and master weights stay Float32; AMX, AVX512-BF16 or an exact emulation, "
                 + "CNN_DIST_ISA forces one)"),
        .key("optimizer.name", \.optimizer.name, "SGD with torch.optim.SGD's exact update"),
        .key("optimizer.lr", \.optimizer.lr, .above(0, "positive"), "base learning rate"),
        .key("optimizer.momentum", \.optimizer.momentum, rateOrZero, "momentum factor"),
        .key("optimizer.dampening", \.optimizer.dampening, .within(0, 1), "dampening for momentum"),
        .key("optimizer.nesterov", \.optimizer.nesterov, "Nesterov momentum (needs momentum > 0, dampening 0)"),
        .key("optimizer.weight_decay", \.optimizer.weightDecay, rateOrZero, "L2 penalty added to the gradient"),
        .key("lr_schedule.name", \.lrSchedule.name, "learning-rate schedule (plateau: ReduceLROnPlateau)"),
        .key("lr_schedule.step_size", \.lrSchedule.stepSize, positiveInteger.and(stepCount),
             "step: units between drops (StepLR)"),
        .key("lr_schedule.gamma", \.lrSchedule.gamma, unitInterval,
             "step, multistep: factor per drop; exponential: factor per unit"),
        .key("lr_schedule.unit", \.lrSchedule.unit, "what step_size, milestones and t_max count"),
        .key("lr_schedule.milestones", \.lrSchedule.milestones,
             ValueRule(requirement: "be increasing positive integers", summary: "increasing, each ≥ 1") { milestones in
                 zip(milestones, milestones.dropFirst()).allSatisfy { $0 < $1 } && milestones.allSatisfy { $0 >= 1 }
             },
             "multistep: counts at which the rate is multiplied by gamma"),
        .key("lr_schedule.t_max", \.lrSchedule.tMax, positiveInteger.and(stepCount),
             "cosine: period; null: the whole run"),
        .key("lr_schedule.eta_min", \.lrSchedule.etaMin, rateOrZero, "cosine: minimum rate"),
        .key("lr_schedule.warmup_steps", \.lrSchedule.warmupSteps, countOrZero.and(stepCount),
             "linear warm-up over this many optimizer steps, for any schedule"),
        .key("lr_schedule.warmup_start_factor", \.lrSchedule.warmupStartFactor, unitInterval, "warm-up factor at step 0"),
        .key("lr_schedule.factor", \.lrSchedule.factor, .within(0, 1, lowerOpen: true, upperOpen: true),
             "plateau: new rate = rate × factor"),
        .key("lr_schedule.patience", \.lrSchedule.patience, countOrZero, "plateau: bad epochs tolerated before a drop"),
        .key("lr_schedule.threshold", \.lrSchedule.threshold, rateOrZero,
             "plateau: how much better than the best a metric must be to count"),
        .key("lr_schedule.threshold_mode", \.lrSchedule.thresholdMode, "plateau: threshold relative to the best, or absolute"),
        .key("lr_schedule.cooldown", \.lrSchedule.cooldown, countOrZero, "plateau: epochs after a drop not counted as bad"),
        .key("lr_schedule.min_lr", \.lrSchedule.minLR, rateOrZero, "plateau: lower bound of drops"),
        .key("lr_schedule.eps", \.lrSchedule.eps, rateOrZero, "plateau: a drop smaller than this is skipped"),
        .key("validation.every_steps", \.validation.everySteps, countOrZero,
             "also validate every N optimizer steps (steps.jsonl); 0: epoch ends only"),
        .key("validation.monitor", \.validation.monitor, "metric for plateau drops, early stopping and best.safetensors"),
        .key("validation.mode", \.validation.mode, "null: min for val_loss, max for val_accuracy"),
        .key("checkpoint.every_epochs", \.checkpoint.everyEpochs, countOrZero,
             "save at the end of every N epochs; 0: not by epoch"),
        .key("checkpoint.every_steps", \.checkpoint.everySteps, countOrZero, "also save every N optimizer steps; 0: not by step"),
        .key("checkpoint.keep_last", \.checkpoint.keepLast, .atLeast(1, "at least 1"),
             "step checkpoints kept (best.safetensors apart)"),
        .key("early_stopping.patience", \.earlyStopping.patience, countOrZero,
             "stop after this many epochs without improvement of validation.monitor; null: never"),
        .key("early_stopping.threshold", \.earlyStopping.threshold, rateOrZero, "absolute margin an improvement must exceed"),
        .key("distributed.bucket_mb", \.distributed.bucketMegabytes,
             .above(0, "positive").and(.atMost(100_000, "MiB in one all-reduce buffer")),
             "gradient bucket size for the overlapped all-reduce, MiB (DDP's bucket_cap_mb)"),
        .key("distributed.check_every", \.distributed.checkEvery, countOrZero,
             "steps between replica checksum comparisons (also at epoch ends); 0: epoch ends only"),
        .key("distributed.timeout_s", \.distributed.timeoutSeconds,
             .above(0, "positive").and(.atMost(604_800, "a week")),
             "seconds a collective may wait for the other ranks; then the job ends naming the ranks that "
                 + "did not arrive (a slower rank within it is fine)"),
        .key("distributed.allreduce_dtype", \.distributed.allReduceDType,
             "gradients all-reduced in fp32, or as bf16 (Horovod's compression: half the bytes, each partial sum "
                 + "rounded to bf16; the step's loss sums and counts stay fp32)"),
        .key("metrics.every_steps", \.metrics.everySteps, countOrZero, "a steps.jsonl record every N optimizer steps; 0: none"),
        .key("metrics.tensorboard", \.metrics.tensorBoard,
             "write a TensorBoard events file into the run directory (the epoch and step records' scalars, the "
                 + "config as text): `tensorboard --logdir runs`"),
        .key("run_dir", \.runDirectory, ValueRule(requirement: "not be empty", summary: "non-empty") { !$0.isEmpty },
             "where config.yaml, metrics.jsonl, model.safetensors and checkpoints/ go; null: a new "
                 + "runs/<config name>/version_N for each fresh run (a bare --resume takes the newest)"),
        .key("log_every", \.logEvery, countOrZero, "steps between plain progress lines off a terminal; 0: epoch lines only"),
    ]

    /// The key at `path`, if there is one.
    public static func key(_ path: String) -> ConfigKey? { keys.first { $0.path == path } }

    /// Paths that hold keys below them ("data", "data.augment", "data.augment.random_crop").
    static let sections: Set<String> = Set(keys.flatMap { key -> [String] in
        let parts = key.path.split(separator: ".")
        return (1..<max(parts.count, 1)).map { parts.prefix($0).joined(separator: ".") }
    })

    /// The key table as Markdown (the README's copy is checked against it).
    public static func markdownTable() -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        for key in keys {
            lines.append("| `\(key.path)` | \(cell(key.typeName)) | `\(cell(key.defaultText))` | \(cell(key.allowed)) | \(cell(key.meaning)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The key table as aligned plain text, for a terminal.
    public static func plainTable() -> String {
        let width = keys.map(\.path.count).max() ?? 0
        return keys.map { key in
            key.path.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + key.defaultText
                + (key.allowed.isEmpty ? "" : "  (\(key.allowed))") + "\n" + String(repeating: " ", count: width + 2)
                + key.meaning
        }.joined(separator: "\n") + "\n"
    }
}
