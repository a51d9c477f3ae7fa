import TensorCore

/// The five ImageNet ResNets (He et al. 2015, table 1) by depth.
public enum ResNetDepth: Int, CaseIterable, Sendable {
    case resnet18 = 18, resnet34 = 34, resnet50 = 50, resnet101 = 101, resnet152 = 152

    /// Blocks in layer1…layer4.
    var blocks: [Int] {
        switch self {
        case .resnet18: return [2, 2, 2, 2]
        case .resnet34: return [3, 4, 6, 3]
        case .resnet50: return [3, 4, 6, 3]
        case .resnet101: return [3, 4, 23, 3]
        case .resnet152: return [3, 8, 36, 3]
        }
    }

    /// Bottleneck blocks (1x1, 3x3, 1x1 with 4x expansion) from resnet50 up, basic blocks below.
    var bottleneck: Bool { rawValue >= 50 }
}

extension ModelZoo {
    /// torchvision's ResNet: conv1 (7x7/2, no bias), bn1, relu, maxpool (3x3/2, pad 1),
    /// layer1…layer4 of BasicBlocks (conv1, bn1, conv2, bn2) or Bottlenecks (conv1, bn1,
    /// conv2, bn2, conv3, bn3; the stride on the 3x3 conv2 as torchvision's "v1.5"), with a
    /// `downsample` 1x1 convolution and BatchNorm2d (downsample.0/.1) where the shape changes;
    /// avgpool AdaptiveAvgPool2d(1); fc. Inputs from 1x1 up (32x32 keeps every stage above 1x1).
    public static func resnet(_ depth: ResNetDepth, inputShape: [Int] = [3, 224, 224],
                              classes: Int = 1000) throws -> Model {
        let expansion = depth.bottleneck ? 4 : 1
        var children: [(name: String, layer: Layer)] = [
            ("conv1", Conv2d(inputShape[0], 64, kernelSize: 7, stride: 2, padding: 3, bias: false)),
            ("bn1", BatchNorm2d(64)), ("relu", ReLU()),
            ("maxpool", MaxPool2d(kernelSize: 3, stride: 2, padding: 1)),
        ]
        var inChannels = 64
        for (stage, count) in depth.blocks.enumerated() {
            let width = 64 << stage
            var blocks: [Layer] = []
            for index in 0..<count {
                let stride = index == 0 && stage > 0 ? 2 : 1
                blocks.append(depth.bottleneck
                    ? bottleneck(inChannels, width, stride: stride)
                    : basicBlock(inChannels, width, stride: stride, shortcutName: "downsample"))
                inChannels = width * expansion
            }
            children.append(("layer\(stage + 1)", Sequential(indexed: blocks)))
        }
        children += [("avgpool", AdaptiveAvgPool2d(outputSize: 1)), ("flatten", Flatten()),
                     ("fc", Linear(512 * expansion, classes))]
        return try Model(name: "resnet\(depth.rawValue)", inputShape: inputShape, classes: classes,
                         network: Sequential(children))
    }

    /// A 1x1 convolution (no bias) and BatchNorm2d, the projection shortcut of torchvision's
    /// `downsample` and of the CIFAR ResNets' `shortcut`; nil where the shape does not change.
    static func projection(_ inChannels: Int, _ outChannels: Int, stride: Int) -> Sequential? {
        guard stride != 1 || inChannels != outChannels else { return nil }
        return Sequential(indexed: [Conv2d(inChannels, outChannels, kernelSize: 1, stride: Size2D(stride), bias: false),
                                    BatchNorm2d(outChannels)])
    }

    /// Two 3x3 convolutions (stride on the first), each with BatchNorm2d, ReLU between and
    /// after the sum with the shortcut: torchvision's BasicBlock and models.py's.
    static func basicBlock(_ inChannels: Int, _ outChannels: Int, stride: Int, shortcutName: String) -> Residual {
        Residual(main: [
            ("conv1", Conv2d(inChannels, outChannels, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false)),
            ("bn1", BatchNorm2d(outChannels)), ("relu1", ReLU()),
            ("conv2", Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1, bias: false)),
            ("bn2", BatchNorm2d(outChannels)),
        ], shortcut: projection(inChannels, outChannels, stride: stride).map { (name: shortcutName, layer: $0) })
    }

    /// torchvision's Bottleneck: 1x1 to `width`, 3x3 (with the stride), 1x1 to 4·width.
    static func bottleneck(_ inChannels: Int, _ width: Int, stride: Int) -> Residual {
        let outChannels = width * 4
        return Residual(main: [
            ("conv1", Conv2d(inChannels, width, kernelSize: 1, bias: false)),
            ("bn1", BatchNorm2d(width)), ("relu1", ReLU()),
            ("conv2", Conv2d(width, width, kernelSize: 3, stride: Size2D(stride), padding: 1, bias: false)),
            ("bn2", BatchNorm2d(width)), ("relu2", ReLU()),
            ("conv3", Conv2d(width, outChannels, kernelSize: 1, bias: false)),
            ("bn3", BatchNorm2d(outChannels)),
        ], shortcut: projection(inChannels, outChannels, stride: stride).map { (name: "downsample", layer: $0) })
    }
}
