import TensorCore

/// Built-in models by name, with the tensor names of their PyTorch reference: torchvision's
/// model of the same name, or ../shared/peers/models.py for `lenet5` and the CIFAR ResNets.
/// The builders live in Zoo/, one file a family.
public enum ModelZoo {
    /// A zoo entry: its default input shape [C, H, W] and how to build it.
    struct Entry {
        let name: String
        let defaultInputShape: [Int]
        let build: (_ inputShape: [Int], _ classes: Int) throws -> Model
    }

    static let imageNetShape = [3, 224, 224]
    static let cifarShape = [3, 32, 32]

    static let entries: [Entry] = {
        var entries = [Entry(name: "lenet5", defaultInputShape: [1, 28, 28]) { try lenet5(inputShape: $0, classes: $1) },
                       Entry(name: "alexnet", defaultInputShape: imageNetShape) { try alexnet(inputShape: $0, classes: $1) }]
        for batchNorm in [false, true] {
            for depth in VGGDepth.allCases {
                let name = "vgg\(depth.rawValue)" + (batchNorm ? "_bn" : "")
                entries.append(Entry(name: name, defaultInputShape: imageNetShape) {
                    try vgg(depth, batchNorm: batchNorm, inputShape: $0, classes: $1)
                })
            }
        }
        entries.append(Entry(name: "googlenet", defaultInputShape: imageNetShape) { try googlenet(inputShape: $0, classes: $1) })
        for depth in ResNetDepth.allCases {
            entries.append(Entry(name: "resnet\(depth.rawValue)", defaultInputShape: imageNetShape) {
                try resnet(depth, inputShape: $0, classes: $1)
            })
        }
        for depth in ResNetCifarDepth.allCases {
            entries.append(Entry(name: "resnet\(depth.rawValue)", defaultInputShape: cifarShape) {
                try resnetCifar(depth, inputShape: $0, classes: $1)
            })
        }
        return entries
    }()

    /// Every zoo model's name, smallest families first.
    public static let names = entries.map(\.name)

    /// Builds `name` for inputs of `inputShape` ([C, H, W]) and `classes` outputs; throws
    /// for an unknown name or an input the architecture cannot take (too small, wrong rank).
    public static func make(_ name: String, inputShape: [Int], classes: Int) throws -> Model {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw NNError.unknownModel(name: name, known: names)
        }
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 > 0 }) else {
            throw NNError.invalidArgument("model '\(name)' takes an input shape [C, H, W] of positive sizes, got \(inputShape)")
        }
        guard classes > 0 else {
            throw NNError.invalidArgument("model '\(name)' needs a positive class count, got \(classes)")
        }
        return try entry.build(inputShape, classes)
    }

    /// The input shape a zoo model was designed for ([3, 224, 224] for the ImageNet models,
    /// [3, 32, 32] for the CIFAR ResNets, [1, 28, 28] for lenet5), for when no dataset says
    /// otherwise; [1, 28, 28] for an unknown name (which `make` rejects).
    public static func defaultInputShape(_ name: String) -> [Int] {
        entries.first { $0.name == name }?.defaultInputShape ?? [1, 28, 28]
    }
}
