import TensorCore

extension ModelZoo {
    /// torchvision's AlexNet (the one-GPU variant of "One weird trick", 64-192-384-256-256
    /// channels): features.0/3/6/8/10 convolutions with ReLUs and three 3x3/2 max pools,
    /// avgpool AdaptiveAvgPool2d(6), classifier Dropout-Linear(9216, 4096)-ReLU-Dropout-
    /// Linear(4096, 4096)-ReLU-Linear(4096, classes) as classifier.0…6.
    /// 61,100,840 parameters for 1000 classes; inputs from 63x63 up.
    public static func alexnet(inputShape: [Int] = [3, 224, 224], classes: Int = 1000) throws -> Model {
        let features = Sequential(indexed: [
            Conv2d(inputShape[0], 64, kernelSize: 11, stride: 4, padding: 2), ReLU(),
            MaxPool2d(kernelSize: 3, stride: 2),
            Conv2d(64, 192, kernelSize: 5, padding: 2), ReLU(),
            MaxPool2d(kernelSize: 3, stride: 2),
            Conv2d(192, 384, kernelSize: 3, padding: 1), ReLU(),
            Conv2d(384, 256, kernelSize: 3, padding: 1), ReLU(),
            Conv2d(256, 256, kernelSize: 3, padding: 1), ReLU(),
            MaxPool2d(kernelSize: 3, stride: 2),
        ])
        let classifier = Sequential(indexed: [
            Dropout(p: 0.5), Linear(256 * 6 * 6, 4096), ReLU(),
            Dropout(p: 0.5), Linear(4096, 4096), ReLU(),
            Linear(4096, classes),
        ])
        let network = Sequential([
            ("features", features), ("avgpool", AdaptiveAvgPool2d(outputSize: 6)),
            ("flatten", Flatten()), ("classifier", classifier),
        ])
        return try Model(name: "alexnet", inputShape: inputShape, classes: classes, network: network)
    }
}
