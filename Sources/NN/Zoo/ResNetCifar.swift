import TensorCore

/// The CIFAR ResNets of He et al. 2015, section 4.2: depth 6n+2.
public enum ResNetCifarDepth: Int, CaseIterable, Sendable {
    case resnet20 = 20, resnet32 = 32, resnet44 = 44, resnet56 = 56, resnet110 = 110

    /// Basic blocks per stage.
    var n: Int { (rawValue - 2) / 6 }
}

extension ModelZoo {
    /// `ResNetCifar` of ../shared/peers/models.py: conv1 (3x3, 16, no bias), bn1, ReLU, then
    /// `layers`, one nn.Sequential of 3n BasicBlocks (16, 32, 64 channels; stride 2 entering
    /// the second and third stage) with a 1x1-convolution-and-BatchNorm projection `shortcut`
    /// (shortcut.0/.1) where the shape changes, global average pooling and `fc`.
    /// resnet20 has 272,474 parameters for 10 classes; inputs from 1x1 up.
    public static func resnetCifar(_ depth: ResNetCifarDepth, inputShape: [Int] = [3, 32, 32],
                                   classes: Int = 10) throws -> Model {
        var blocks: [Layer] = []
        var inChannels = 16
        for (stage, outChannels) in [16, 32, 64].enumerated() {
            for index in 0..<depth.n {
                let stride = index == 0 && stage > 0 ? 2 : 1
                blocks.append(basicBlock(inChannels, outChannels, stride: stride, shortcutName: "shortcut"))
                inChannels = outChannels
            }
        }
        let network = Sequential([
            ("conv1", Conv2d(inputShape[0], 16, kernelSize: 3, padding: 1, bias: false)),
            ("bn1", BatchNorm2d(16)), ("relu", ReLU()),
            ("layers", Sequential(indexed: blocks)),
            ("avgpool", AdaptiveAvgPool2d(outputSize: 1)), ("flatten", Flatten()),
            ("fc", Linear(64, classes)),
        ])
        return try Model(name: "resnet\(depth.rawValue)", inputShape: inputShape, classes: classes, network: network)
    }
}
