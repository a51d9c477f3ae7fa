import TensorCore

/// The four VGG configurations (Simonyan & Zisserman 2014, table 1: A, B, D, E) by depth.
public enum VGGDepth: Int, CaseIterable, Sendable {
    case vgg11 = 11, vgg13 = 13, vgg16 = 16, vgg19 = 19

    /// torchvision's `cfgs`: output channels of each 3x3 convolution, nil for a 2x2 max pool.
    var configuration: [Int?] {
        switch self {
        case .vgg11: return [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]
        case .vgg13: return [64, 64, nil, 128, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]
        case .vgg16: return [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil]
        case .vgg19:
            return [64, 64, nil, 128, 128, nil, 256, 256, 256, 256, nil, 512, 512, 512, 512, nil, 512, 512, 512, 512, nil]
        }
    }
}

extension ModelZoo {
    /// torchvision's VGG (`vgg11` … `vgg19`, `vgg11_bn` … `vgg19_bn`): `features.N`, the
    /// configuration's 3x3 convolutions (pad 1), each followed by BatchNorm2d with `batchNorm`
    /// and ReLU, and 2x2 max pools, numbered as one nn.Sequential; avgpool AdaptiveAvgPool2d(7);
    /// classifier Linear(25088, 4096)-ReLU-Dropout-Linear(4096, 4096)-ReLU-Dropout-
    /// Linear(4096, classes) as classifier.0…6. Inputs from 32x32 up.
    public static func vgg(_ depth: VGGDepth, batchNorm: Bool = false, inputShape: [Int] = [3, 224, 224],
                           classes: Int = 1000) throws -> Model {
        var layers: [Layer] = []
        var channels = inputShape[0]
        for entry in depth.configuration {
            guard let out = entry else {
                layers.append(MaxPool2d(kernelSize: 2, stride: 2))
                continue
            }
            layers.append(Conv2d(channels, out, kernelSize: 3, padding: 1))
            if batchNorm { layers.append(BatchNorm2d(out)) }
            layers.append(ReLU())
            channels = out
        }
        let classifier = Sequential(indexed: [
            Linear(512 * 7 * 7, 4096), ReLU(), Dropout(p: 0.5),
            Linear(4096, 4096), ReLU(), Dropout(p: 0.5),
            Linear(4096, classes),
        ])
        let network = Sequential([
            ("features", Sequential(indexed: layers)), ("avgpool", AdaptiveAvgPool2d(outputSize: 7)),
            ("flatten", Flatten()), ("classifier", classifier),
        ])
        let name = "vgg\(depth.rawValue)" + (batchNorm ? "_bn" : "")
        return try Model(name: name, inputShape: inputShape, classes: classes, network: network)
    }
}
