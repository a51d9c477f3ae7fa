import XCTest

@testable import NN
@testable import TensorCore

final class ModelSummaryTests: XCTestCase {
    func summary(_ layers: [Layer], input: [Int]) throws -> ModelSummary {
        try ModelSummary(network: Sequential(indexed: layers), inputShape: input)
    }

    func testLeNet5Figures() throws {
        let s = try ModelSummary(model: try ModelZoo.lenet5())
        XCTAssertEqual(s.name, "lenet5")
        XCTAssertEqual(s.parameters, 61_706)
        XCTAssertEqual(s.weights, 150 + 2_400 + 48_000 + 10_080 + 840)
        XCTAssertEqual(s.biases, 6 + 16 + 120 + 84 + 10)
        XCTAssertEqual(s.multiplyAccumulates, 416_520)
        XCTAssertEqual(s.rows.map(\.name), ["conv1 Conv2d", "relu1 ReLU", "pool1 MaxPool2d", "conv2 Conv2d", "relu2 ReLU",
                                            "pool2 MaxPool2d", "conv3 Conv2d", "relu3 ReLU", "flatten Flatten",
                                            "fc1 Linear", "relu4 ReLU", "fc2 Linear"])
        XCTAssertEqual(s.rows[0].outputShape, [6, 28, 28])
        XCTAssertEqual(s.rows[0].multiplyAccumulates, 117_600)
        XCTAssertEqual(s.rows[9].outputShape, [84])
        // Input 784 + conv1 4,704 + pool1 1,176 + conv2 1,600 + pool2 400 + conv3 120 + fc1 84 + fc2 10;
        // the in-place ReLUs and the Flatten view add nothing.
        XCTAssertEqual(s.forwardActivations, 8_878)
        XCTAssertEqual(s.trainingActivations, 2 * 8_878)
        XCTAssertEqual(s.fixedTrainingValues, 3 * 61_706)
        XCTAssertEqual(s.rows[1].activations, 4_704)
        XCTAssertFalse(s.rows[1].allocatesOutput)
        XCTAssertEqual(s.rows[0].activationBytes, 4 * 4_704)
        // conv1 5 → pool1 6 (jump 2) → conv2 6 + 4·2 = 14 → pool2 16 (jump 4) → conv3 16 + 4·4 = 32.
        XCTAssertEqual(s.rows.map(\.receptiveField), [5, 5, 6, 14, 14, 16, 32, 32, nil, nil, nil, nil])
        XCTAssertEqual(s.rows.map(\.jump), [1, 1, 2, 2, 2, 4, 4, 4, nil, nil, nil, nil])
        XCTAssertTrue(s.untiledRows.isEmpty)
    }

    // Published figures of the zoo's ImageNet models at 224x224 with 1000 classes.

    func zoo(_ name: String) throws -> ModelSummary {
        try ModelSummary(model: try ModelZoo.make(name, inputShape: [3, 224, 224], classes: 1000))
    }

    func testVGG16AsCS231nReadsIt() throws {
        let s = try zoo("vgg16")
        XCTAssertEqual(s.parameters, 138_357_544)
        XCTAssertEqual(s.biases, 13_416)
        XCTAssertEqual(s.multiplyAccumulates, 15_470_264_320)
        // The course's rows (input, 13 convolutions, 5 pools, 3 linear layers) sum to 15,237,608;
        // torchvision's avgpool (7x7 to 7x7 at 224, still a new tensor) adds 25,088.
        let adaptive = s.rows.filter { $0.kind == "AdaptiveAvgPool2d" }
        XCTAssertEqual(adaptive.map(\.activations), [25_088])
        XCTAssertEqual(s.forwardActivations - 25_088, 15_237_608)
        XCTAssertEqual(Double(s.forwardActivations) / 1e6, 15.2, accuracy: 0.1)
        XCTAssertEqual(s.rows.filter { $0.kind == "Conv2d" }.count, 13)
        let byPath = Dictionary(uniqueKeysWithValues: s.rows.map { ($0.path, $0) })
        XCTAssertEqual(byPath["features.0"]?.outputShape, [64, 224, 224])
        XCTAssertEqual(byPath["features.0"]?.activations, 3_211_264)
        XCTAssertEqual(byPath["features.0"]?.weights, 1_728)
        XCTAssertEqual(byPath["features.2"]?.multiplyAccumulates, 1_849_688_064)
        XCTAssertEqual(byPath["features.28"]?.receptiveField, 196)
        XCTAssertEqual(byPath["features.28"]?.jump, 16)
        XCTAssertEqual(byPath["features.30"]?.receptiveField, 212)
        XCTAssertEqual(byPath["features.30"]?.jump, 32)
        XCTAssertEqual(byPath["features.30"]?.outputShape, [512, 7, 7])
        XCTAssertEqual(byPath["classifier.0"]?.weights, 102_760_448)
        XCTAssertTrue(s.untiledRows.isEmpty, "VGG's 2x2 pools tile every map from 224 down")
    }

    func testPublishedZooFigures() throws {
        XCTAssertEqual(try zoo("alexnet").parameters, 61_100_840)
        XCTAssertEqual(try zoo("resnet18").parameters, 11_689_512)
        let resnet50 = try zoo("resnet50")
        XCTAssertEqual(resnet50.parameters, 25_557_032)
        XCTAssertEqual(resnet50.multiplyAccumulates, 4_089_184_256)
        XCTAssertEqual(try zoo("googlenet").parameters, 6_624_904)
        let lenet = try ModelSummary(model: try ModelZoo.make("lenet5", inputShape: [1, 28, 28], classes: 10))
        XCTAssertEqual(lenet.parameters, 61_706)
        XCTAssertEqual(lenet.multiplyAccumulates, 416_520)
    }

    func testResNet50Structure() throws {
        let s = try zoo("resnet50")
        let byPath = Dictionary(uniqueKeysWithValues: s.rows.map { ($0.path, $0) })
        XCTAssertEqual(byPath["conv1"]?.receptiveField, 7)
        XCTAssertEqual(byPath["maxpool"]?.receptiveField, 11)
        XCTAssertEqual(byPath["maxpool"]?.jump, 4)
        XCTAssertEqual(byPath["layer1.0.downsample.0"]?.outputShape, [256, 56, 56])
        XCTAssertEqual(byPath["layer4.2.conv3"]?.jump, 32)
        XCTAssertEqual(byPath["fc"]?.outputShape, [1000])
        // torchvision's stem: the 7x7/2 convolution and the 3x3/2 pool drop a row and column of padding.
        XCTAssertEqual(s.untiledRows.first?.path, "conv1")
        XCTAssertEqual(s.untiledRows.first?.uncoveredInput, 0)
        XCTAssertFalse(s.rows.contains { $0.kind == "Residual" || $0.kind == "Sequential" })
    }

    /// Every zoo model at its default input: the rows account for every parameter, and the walk ends in the class scores.
    func testEveryZooModelIsWalkedWhole() throws {
        for name in ModelZoo.names {
            let model = try ModelZoo.make(name, inputShape: ModelZoo.defaultInputShape(name), classes: 10)
            let s = try ModelSummary(model: model)
            XCTAssertEqual(s.parameters, model.parameterCount, name)
            XCTAssertEqual(s.rows.last?.outputShape, [10], name)
            XCTAssertGreaterThan(s.multiplyAccumulates, 0, name)
        }
    }

    func testStackedThreeByThreeConvolutions() throws {
        let two = try summary([Conv2d(1, 4, kernelSize: 3, padding: 1), ReLU(), Conv2d(4, 4, kernelSize: 3, padding: 1)],
                              input: [1, 16, 16])
        XCTAssertEqual(two.rows.last?.receptiveField, 5)
        XCTAssertEqual(two.rows.last?.jump, 1)
        let three = try summary([Conv2d(1, 4, kernelSize: 3, padding: 1), Conv2d(4, 4, kernelSize: 3, padding: 1),
                                 Conv2d(4, 4, kernelSize: 3, padding: 1)], input: [1, 16, 16])
        XCTAssertEqual(three.rows.map(\.receptiveField), [3, 5, 7])
        // A 7x7 convolution sees as much with more weights: 49·C² against 3·9·C².
        XCTAssertEqual(three.rows[1].weights, 9 * 16)
    }

    func testStrideDoublesTheJump() throws {
        let s = try summary([Conv2d(1, 2, kernelSize: 3, stride: 2, padding: 1), Conv2d(2, 2, kernelSize: 3, padding: 1),
                             Conv2d(2, 2, kernelSize: 3, stride: 2, padding: 1), Conv2d(2, 2, kernelSize: 3, padding: 1)],
                            input: [1, 17, 17])
        XCTAssertEqual(s.rows.map(\.jump), [2, 2, 4, 4])
        // 3 → 3 + 2·2 = 7 → 7 + 2·2 = 11 → 11 + 2·4 = 19.
        XCTAssertEqual(s.rows.map(\.receptiveField), [3, 7, 11, 19])
        XCTAssertEqual(s.rows[0].outputShape, [2, 9, 9])
    }

    func testDilatedConvolution() throws {
        // Dilation 2 spreads a 3x3 kernel over 5x5; after a stride-2 layer each tap is 2 pixels apart again.
        let s = try summary([Conv2d(1, 1, kernelSize: 3, padding: 2, dilation: 2),
                             Conv2d(1, 1, kernelSize: 2, stride: 2),
                             Conv2d(1, 1, kernelSize: 3, dilation: 2)], input: [1, 16, 16])
        XCTAssertEqual(s.rows.map(\.receptiveField), [5, 6, 14])
        XCTAssertEqual(s.rows.map(\.jump), [1, 2, 2])
        XCTAssertEqual(s.rows[0].multiplyAccumulates, 16 * 16 * 9)
        XCTAssertEqual(s.rows[2].outputShape, [1, 4, 4])
    }

    func testPoolingAndAsymmetricWindows() throws {
        let s = try summary([MaxPool2d(kernelSize: 2), Conv2d(1, 1, kernelSize: 3, padding: 1),
                             AvgPool2d(kernelSize: Size2D(1, 2), stride: Size2D(1, 2))],
                            input: [1, 8, 8])
        XCTAssertEqual(s.rows.map(\.receptiveField), [2, 6, Size2D(6, 8)])
        XCTAssertEqual(s.rows.map(\.jump), [2, 2, Size2D(2, 4)])
        XCTAssertEqual(s.rows.map(\.multiplyAccumulates), [0, 4 * 4 * 9, 0])
        XCTAssertEqual(s.rows[2].outputShape, [1, 4, 2])
        XCTAssertTrue(s.untiledRows.isEmpty)
    }

    func testLayersWhoseStrideDoesNotTileTheirInputAreFlagged() throws {
        let s = try summary([
            Conv2d(1, 1, kernelSize: 3, stride: 2),              // 8 − 3 = 5: one input row and column dropped
            Conv2d(1, 1, kernelSize: 3, stride: 2, padding: 1),  // 3 + 2 − 3 = 2: tiles
            MaxPool2d(kernelSize: 2, stride: 2, ceilMode: true), // 2 − 2 = 0: tiles
        ], input: [1, 8, 8])
        XCTAssertEqual(s.rows[0].uncovered, 1)
        XCTAssertEqual(s.rows[0].uncoveredInput, 1)
        XCTAssertNil(s.rows[1].uncovered)
        XCTAssertEqual(s.untiledRows.map(\.path), ["0"])

        // Only the bottom padding row is dropped (9 + 2 − 3 = 8 is even: tiles; 8 + 2 − 3 = 7 is odd: not).
        let padded = try summary([Conv2d(1, 1, kernelSize: 3, stride: 2, padding: 1)], input: [1, 8, 9])
        XCTAssertEqual(padded.rows[0].uncovered, Size2D(1, 0))
        XCTAssertEqual(padded.rows[0].uncoveredInput, Size2D(0, 0))

        // Ceil mode adds a last window that hangs over the edge: nothing is dropped.
        let ceil = try summary([MaxPool2d(kernelSize: 2, stride: 2, ceilMode: true)], input: [1, 7, 7])
        XCTAssertEqual(ceil.rows[0].outputShape, [1, 4, 4])
        XCTAssertNil(ceil.rows[0].uncovered)
        let floor = try summary([MaxPool2d(kernelSize: 2)], input: [1, 7, 7])
        XCTAssertEqual(floor.rows[0].uncovered, 1)
    }

    func testNestedContainersAreNamedByDottedPaths() throws {
        let network = Sequential([
            ("features", Sequential(indexed: [Conv2d(3, 8, kernelSize: 3, padding: 1), ReLU(), MaxPool2d(kernelSize: 2)])),
            ("flatten", Flatten()),
            ("classifier", Sequential(indexed: [Linear(8 * 4 * 4, 10, bias: false)])),
        ])
        let s = try ModelSummary(network: network, inputShape: [3, 8, 8])
        XCTAssertEqual(s.rows.map(\.name), ["features.0 Conv2d", "features.1 ReLU", "features.2 MaxPool2d",
                                            "flatten Flatten", "classifier.0 Linear"])
        XCTAssertEqual(s.rows[4].weights, 1_280)
        XCTAssertEqual(s.rows[4].biases, 0)
        XCTAssertEqual(s.parameters, network.parameterCount)
    }

    func testConcatJoinsBranchesAndTakesTheWidestReceptiveField() throws {
        let inception = Concat([
            ("branch1", Conv2d(4, 2, kernelSize: 1)),
            ("branch2", Sequential(indexed: [Conv2d(4, 2, kernelSize: 1), Conv2d(2, 3, kernelSize: 5, padding: 2)])),
            ("branch3", Sequential(indexed: [MaxPool2d(kernelSize: 3, stride: 1, padding: 1), Conv2d(4, 1, kernelSize: 1)])),
        ])
        let s = try ModelSummary(network: Sequential([("stem", Conv2d(1, 4, kernelSize: 3, padding: 1)), ("mixed", inception)]),
                                 inputShape: [1, 6, 6])
        XCTAssertEqual(s.rows.map(\.name), ["stem Conv2d", "mixed.branch1 Conv2d", "mixed.branch2.0 Conv2d",
                                            "mixed.branch2.1 Conv2d", "mixed.branch3.0 MaxPool2d",
                                            "mixed.branch3.1 Conv2d", "mixed Concat"])
        XCTAssertEqual(s.rows.map(\.receptiveField), [3, 3, 3, 7, 5, 5, 7])
        XCTAssertEqual(s.rows.last?.outputShape, [6, 6, 6])
        // torch.cat materialises the joined output.
        XCTAssertTrue(s.rows.last!.allocatesOutput)
        XCTAssertEqual(s.forwardActivations, 36 + 4 * 36 + (2 + 2 + 3 + 4 + 1) * 36 + 6 * 36)
        XCTAssertEqual(s.parameters, s.rows.reduce(0) { $0 + $1.parameters })
        XCTAssertEqual(s.multiplyAccumulates, 36 * (4 * 9 + 2 * 4 + 2 * 4 + 3 * 2 * 25 + 1 * 4))
    }

    func testResidualTakesTheWiderPathAndAddsInPlace() throws {
        let block = Residual(main: [("conv1", Conv2d(2, 4, kernelSize: 3, stride: 2, padding: 1)), ("relu", ReLU()),
                                    ("conv2", Conv2d(4, 4, kernelSize: 3, padding: 1))],
                             shortcut: ("downsample", Sequential(indexed: [Conv2d(2, 4, kernelSize: 1, stride: 2)])))
        let s = try ModelSummary(network: Sequential([("layer1", Sequential(indexed: [block]))]), inputShape: [2, 8, 8])
        XCTAssertEqual(s.rows.map(\.name), ["layer1.0.conv1 Conv2d", "layer1.0.relu ReLU", "layer1.0.conv2 Conv2d",
                                            "layer1.0.downsample.0 Conv2d", "layer1.0.activation ReLU"])
        // Main: 3 then 3 + 2·2 = 7 at jump 2; shortcut: 1 at jump 2; the sum sees 7.
        XCTAssertEqual(s.rows.map(\.receptiveField), [3, 3, 7, 1, 7])
        XCTAssertEqual(s.rows.map(\.jump), [2, 2, 2, 2, 2])
        XCTAssertEqual(s.forwardActivations, 128 + 3 * 64)
        XCTAssertEqual(s.parameters, block.parameterCount)
        // An 8x8 map under a 1x1 stride-2 window: 8 − 1 = 7 is odd, the last row and column are dropped.
        XCTAssertEqual(s.untiledRows.map(\.path), ["layer1.0.conv1", "layer1.0.downsample.0"])
        XCTAssertEqual(s.rows[0].uncoveredInput, 0)
        XCTAssertEqual(s.rows[3].uncoveredInput, 1)

        let identity = Residual(main: [("conv", Conv2d(2, 2, kernelSize: 5, padding: 2))], activation: nil)
        let plain = try ModelSummary(network: identity, inputShape: [2, 8, 8])
        XCTAssertEqual(plain.rows.map(\.name), ["conv Conv2d"])
        XCTAssertEqual(plain.rows[0].receptiveField, 5)
    }

    func testShapeErrorsNameTheLayer() {
        XCTAssertThrowsError(try summary([Conv2d(1, 2, kernelSize: 3), Conv2d(3, 2, kernelSize: 3)], input: [1, 8, 8])) {
            XCTAssertTrue("\($0)".contains("layer 1 (Conv2d): expects 3 input channels, got 2"), "\($0)")
        }
    }
}
