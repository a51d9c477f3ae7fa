import TensorCore

extension ModelZoo {
    /// torchvision's GoogLeNet as `googlenet(aux_logits=False, transform_input=False)`:
    /// BasicConv2d blocks (`conv`, a bias-free convolution; `bn`, BatchNorm2d with eps 0.001;
    /// ReLU), max pools with ceil_mode, inception3a…5b whose branch3 is 1x1 then 3x3 as in
    /// torchvision (the paper's 5x5 is a known torchvision deviation kept for weight
    /// compatibility), AdaptiveAvgPool2d(1), dropout 0.2 and `fc`. 6,624,904 parameters
    /// for 1000 classes; inputs from 15x15 up.
    public static func googlenet(inputShape: [Int] = [3, 224, 224], classes: Int = 1000) throws -> Model {
        func pool(_ kernel: Size2D) -> MaxPool2d { MaxPool2d(kernelSize: kernel, stride: 2, ceilMode: true) }
        let network = Sequential([
            ("conv1", basicConv2d(inputShape[0], 64, kernelSize: 7, stride: 2, padding: 3)),
            ("maxpool1", pool(3)),
            ("conv2", basicConv2d(64, 64, kernelSize: 1)),
            ("conv3", basicConv2d(64, 192, kernelSize: 3, padding: 1)),
            ("maxpool2", pool(3)),
            ("inception3a", inception(192, 64, 96, 128, 16, 32, 32)),
            ("inception3b", inception(256, 128, 128, 192, 32, 96, 64)),
            ("maxpool3", pool(3)),
            ("inception4a", inception(480, 192, 96, 208, 16, 48, 64)),
            ("inception4b", inception(512, 160, 112, 224, 24, 64, 64)),
            ("inception4c", inception(512, 128, 128, 256, 24, 64, 64)),
            ("inception4d", inception(512, 112, 144, 288, 32, 64, 64)),
            ("inception4e", inception(528, 256, 160, 320, 32, 128, 128)),
            ("maxpool4", pool(2)),
            ("inception5a", inception(832, 256, 160, 320, 32, 128, 128)),
            ("inception5b", inception(832, 384, 192, 384, 48, 128, 128)),
            ("avgpool", AdaptiveAvgPool2d(outputSize: 1)),
            ("flatten", Flatten()),
            ("dropout", Dropout(p: 0.2)),
            ("fc", Linear(1024, classes)),
        ])
        return try Model(name: "googlenet", inputShape: inputShape, classes: classes, network: network)
    }

    /// torchvision's BasicConv2d: `conv` (no bias), `bn` (eps 0.001), ReLU.
    static func basicConv2d(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2D, stride: Size2D = 1,
                            padding: Size2D = 0) -> Sequential {
        Sequential([
            ("conv", Conv2d(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, bias: false)),
            ("bn", BatchNorm2d(outChannels, eps: 0.001)),
            ("relu", ReLU()),
        ])
    }

    /// torchvision's Inception block: branch1 1x1; branch2 1x1 then 3x3; branch3 1x1 then 3x3;
    /// branch4 3x3/1 max pool (pad 1, ceil_mode) then 1x1; outputs concatenated on channels.
    static func inception(_ inChannels: Int, _ ch1x1: Int, _ ch3x3reduce: Int, _ ch3x3: Int,
                          _ ch5x5reduce: Int, _ ch5x5: Int, _ poolProjection: Int) -> Concat {
        Concat([
            ("branch1", basicConv2d(inChannels, ch1x1, kernelSize: 1)),
            ("branch2", Sequential(indexed: [basicConv2d(inChannels, ch3x3reduce, kernelSize: 1),
                                             basicConv2d(ch3x3reduce, ch3x3, kernelSize: 3, padding: 1)])),
            ("branch3", Sequential(indexed: [basicConv2d(inChannels, ch5x5reduce, kernelSize: 1),
                                             basicConv2d(ch5x5reduce, ch5x5, kernelSize: 3, padding: 1)])),
            ("branch4", Sequential(indexed: [MaxPool2d(kernelSize: 3, stride: 1, padding: 1, ceilMode: true),
                                             basicConv2d(inChannels, poolProjection, kernelSize: 1)])),
        ])
    }
}
