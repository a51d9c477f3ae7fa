import TensorCore

extension ModelZoo {
    /// LeNet-5 as `LeNet5` in ../shared/peers/models.py: conv(5, pad 2)-relu-maxpool,
    /// conv5-relu-maxpool, conv5 (= fc 120)-relu, fc 84-relu, fc classes; 61,706 parameters at 28x28.
    public static func lenet5(inputShape: [Int] = [1, 28, 28], classes: Int = 10) throws -> Model {
        let features: [(name: String, layer: Layer)] = [
            ("conv1", Conv2d(inputShape[0], 6, kernelSize: 5, padding: 2)), ("relu1", ReLU()),
            ("pool1", MaxPool2d(kernelSize: 2)),
            ("conv2", Conv2d(6, 16, kernelSize: 5)), ("relu2", ReLU()), ("pool2", MaxPool2d(kernelSize: 2)),
            ("conv3", Conv2d(16, 120, kernelSize: 5)), ("relu3", ReLU()), ("flatten", Flatten()),
        ]
        // conv3 covers the whole 5x5 map at 28x28; larger inputs leave a bigger map for fc1.
        let flattened = try Sequential(features).outputShape(for: [1] + inputShape)[1]
        let network = Sequential(features + [
            ("fc1", Linear(flattened, 84)), ("relu4", ReLU()), ("fc2", Linear(84, classes)),
        ])
        return try Model(name: "lenet5", inputShape: inputShape, classes: classes, network: network)
    }
}
