import NN
import TensorCore
import XCTest

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
