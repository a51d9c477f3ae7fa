import XCTest

@testable import NN
@testable import Optim
@testable import TensorCore

/// The model zoo against torchvision (and ../shared/peers/models.py for lenet5 and the CIFAR
/// ResNets): parameter counts, state-dict sizes and names, stage shapes (shape inference only,
/// no forward pass), and one training step of every model at a small input.
/// Tests/TrainTests/TorchvisionParityTests.swift compares logits with PyTorch.
final class ZooTests: XCTestCase {
    /// Per model: parameters, state-dict entries (parameters and buffers) and parameter tensors,
    /// as torchvision / models.py report them for the default classes (1000; 10 for lenet5 and
    /// the CIFAR ResNets) at the default input.
    static let reference: [(name: String, parameters: Int, stateEntries: Int, parameterTensors: Int)] = [
        ("lenet5", 61_706, 10, 10),
        ("alexnet", 61_100_840, 16, 16),
        ("vgg11", 132_863_336, 22, 22), ("vgg13", 133_047_848, 26, 26),
        ("vgg16", 138_357_544, 32, 32), ("vgg19", 143_667_240, 38, 38),
        ("vgg11_bn", 132_868_840, 62, 38), ("vgg13_bn", 133_053_736, 76, 46),
        ("vgg16_bn", 138_365_992, 97, 58), ("vgg19_bn", 143_678_248, 118, 70),
        ("googlenet", 6_624_904, 344, 173),
        ("resnet18", 11_689_512, 122, 62), ("resnet34", 21_797_672, 218, 110),
        ("resnet50", 25_557_032, 320, 161), ("resnet101", 44_549_160, 626, 314),
        ("resnet152", 60_192_808, 932, 467),
        ("resnet20", 272_474, 128, 65), ("resnet32", 466_906, 200, 101), ("resnet44", 661_338, 272, 137),
        ("resnet56", 855_770, 344, 173), ("resnet110", 1_730_714, 668, 335),
    ]

    static let cifarResNets = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]

    func testRegistryListsEveryModelWithItsDefaultInput() throws {
        XCTAssertEqual(ModelZoo.names, Self.reference.map(\.name))
        for name in ModelZoo.names {
            let expected = name == "lenet5" ? [1, 28, 28] : Self.cifarResNets.contains(name) ? [3, 32, 32] : [3, 224, 224]
            XCTAssertEqual(ModelZoo.defaultInputShape(name), expected, name)
        }
        XCTAssertThrowsError(try ModelZoo.make("resnet19", inputShape: [3, 32, 32], classes: 10)) {
            XCTAssertTrue("\($0)".contains("unknown model 'resnet19'"), "\($0)")
            XCTAssertTrue("\($0)".contains("googlenet"), "\($0)")
        }
        XCTAssertThrowsError(try ModelZoo.make("resnet18", inputShape: [3, 32], classes: 10))
        XCTAssertThrowsError(try ModelZoo.make("resnet18", inputShape: [3, 32, 32], classes: 0))
    }

    func testParameterCountsAndStateDictSizesMatchTorchvision() throws {
        for entry in Self.reference {
            let model = try ModelZoo.make(entry.name, inputShape: ModelZoo.defaultInputShape(entry.name),
                                          classes: Self.cifarResNets.contains(entry.name) || entry.name == "lenet5" ? 10 : 1000)
            XCTAssertEqual(model.name, entry.name)
            XCTAssertEqual(model.parameterCount, entry.parameters, entry.name)
            let parameterNames = model.namedParameters().map(\.name)
            let stateNames = parameterNames + model.namedBuffers().map(\.name)
            XCTAssertEqual(parameterNames.count, entry.parameterTensors, entry.name)
            XCTAssertEqual(stateNames.count, entry.stateEntries, entry.name)
            XCTAssertEqual(Set(stateNames).count, stateNames.count, "\(entry.name): duplicate tensor names")
        }
    }

    /// A few state-dict names and shapes of each family, as torchvision prints them.
    func testTensorNamesAndShapesFollowTorchvision() throws {
        func state(_ name: String, _ shape: [Int]? = nil) throws -> [String: [Int]] {
            let model = try ModelZoo.make(name, inputShape: shape ?? ModelZoo.defaultInputShape(name), classes: 1000)
            return Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.value.shape) }
                + model.namedBuffers().map { ($0.name, $0.tensor.shape) })
        }
        let alexnet = try state("alexnet")
        XCTAssertEqual(alexnet["features.0.weight"], [64, 3, 11, 11])
        XCTAssertEqual(alexnet["features.10.bias"], [256])
        XCTAssertEqual(alexnet["classifier.1.weight"], [4096, 9216])
        XCTAssertEqual(alexnet["classifier.4.weight"], [4096, 4096])
        XCTAssertEqual(alexnet["classifier.6.bias"], [1000])

        let vgg16 = try state("vgg16")
        XCTAssertEqual(vgg16["features.28.weight"], [512, 512, 3, 3])
        XCTAssertEqual(vgg16["classifier.0.weight"], [4096, 25088])
        XCTAssertEqual(vgg16["classifier.3.weight"], [4096, 4096])
        XCTAssertEqual(vgg16["classifier.6.weight"], [1000, 4096])
        let vgg11bn = try state("vgg11_bn")
        XCTAssertEqual(vgg11bn["features.1.running_var"], [64])
        XCTAssertNotNil(vgg11bn["features.1.num_batches_tracked"])
        XCTAssertEqual(vgg11bn["features.4.weight"], [128, 64, 3, 3])
        XCTAssertEqual(vgg11bn["features.26.bias"], [512])

        let googlenet = try state("googlenet")
        XCTAssertEqual(googlenet["conv1.conv.weight"], [64, 3, 7, 7])
        XCTAssertNil(googlenet["conv1.conv.bias"])
        XCTAssertEqual(googlenet["conv1.bn.running_mean"], [64])
        XCTAssertEqual(googlenet["inception3a.branch1.conv.weight"], [64, 192, 1, 1])
        XCTAssertEqual(googlenet["inception3a.branch3.1.conv.weight"], [32, 16, 3, 3], "torchvision's branch3 is 3x3")
        XCTAssertEqual(googlenet["inception4e.branch4.1.bn.weight"], [128])
        XCTAssertEqual(googlenet["inception5b.branch2.1.conv.weight"], [384, 192, 3, 3])
        XCTAssertEqual(googlenet["fc.weight"], [1000, 1024])

        let resnet18 = try state("resnet18")
        XCTAssertEqual(resnet18["conv1.weight"], [64, 3, 7, 7])
        XCTAssertEqual(resnet18["layer1.1.bn2.running_var"], [64])
        XCTAssertNil(resnet18["layer1.0.downsample.0.weight"])
        XCTAssertEqual(resnet18["layer2.0.downsample.0.weight"], [128, 64, 1, 1])
        XCTAssertEqual(resnet18["layer4.1.conv2.weight"], [512, 512, 3, 3])
        XCTAssertEqual(resnet18["fc.weight"], [1000, 512])
        let resnet50 = try state("resnet50")
        XCTAssertEqual(resnet50["layer1.0.downsample.0.weight"], [256, 64, 1, 1])
        XCTAssertEqual(resnet50["layer1.0.downsample.1.num_batches_tracked"].map { $0.reduce(1, *) }, 1)
        XCTAssertEqual(resnet50["layer3.5.conv3.weight"], [1024, 256, 1, 1])
        XCTAssertEqual(resnet50["layer4.2.bn3.weight"], [2048])
        XCTAssertEqual(resnet50["fc.weight"], [1000, 2048])

        let resnet20 = try state("resnet20", [3, 32, 32])
        XCTAssertEqual(resnet20["conv1.weight"], [16, 3, 3, 3])
        XCTAssertEqual(resnet20["layers.0.conv1.weight"], [16, 16, 3, 3])
        XCTAssertNil(resnet20["layers.0.shortcut.0.weight"])
        XCTAssertEqual(resnet20["layers.3.shortcut.0.weight"], [32, 16, 1, 1])
        XCTAssertEqual(resnet20["layers.6.shortcut.1.running_mean"], [64])
        XCTAssertEqual(resnet20["layers.8.bn2.bias"], [64])
        XCTAssertEqual(resnet20["fc.weight"], [1000, 64])
    }

    /// The output shape ([C, H, W] without the batch) after each top-level child.
    func stages(_ name: String, _ inputShape: [Int], classes: Int = 1000) throws -> [String: [Int]] {
        let model = try ModelZoo.make(name, inputShape: inputShape, classes: classes)
        let network = try XCTUnwrap(model.network as? Sequential)
        var shape = [1] + inputShape, result: [String: [Int]] = [:]
        for child in network.children {
            shape = try child.layer.outputShape(for: shape)
            result[child.name] = Array(shape.dropFirst())
        }
        return result
    }

    func testStageShapesAtTheDefaultInput() throws {
        let alexnet = try stages("alexnet", [3, 224, 224])
        XCTAssertEqual(alexnet["features"], [256, 6, 6])
        XCTAssertEqual(alexnet["classifier"], [1000])

        for name in ["vgg11", "vgg16", "vgg19_bn"] {
            let vgg = try stages(name, [3, 224, 224])
            XCTAssertEqual(vgg["features"], [512, 7, 7], name)
            XCTAssertEqual(vgg["avgpool"], [512, 7, 7], name)
            XCTAssertEqual(vgg["classifier"], [1000], name)
        }

        let googlenet = try stages("googlenet", [3, 224, 224])
        let expected: [(String, [Int])] = [
            ("conv1", [64, 112, 112]), ("maxpool1", [64, 56, 56]), ("conv3", [192, 56, 56]), ("maxpool2", [192, 28, 28]),
            ("inception3a", [256, 28, 28]), ("inception3b", [480, 28, 28]), ("maxpool3", [480, 14, 14]),
            ("inception4a", [512, 14, 14]), ("inception4d", [528, 14, 14]), ("inception4e", [832, 14, 14]),
            ("maxpool4", [832, 7, 7]), ("inception5a", [832, 7, 7]), ("inception5b", [1024, 7, 7]),
            ("avgpool", [1024, 1, 1]), ("fc", [1000]),
        ]
        for (stage, shape) in expected { XCTAssertEqual(googlenet[stage], shape, "googlenet \(stage)") }

        let resnet50 = try stages("resnet50", [3, 224, 224])
        for (stage, shape) in [("conv1", [64, 112, 112]), ("maxpool", [64, 56, 56]), ("layer1", [256, 56, 56]),
                               ("layer2", [512, 28, 28]), ("layer3", [1024, 14, 14]), ("layer4", [2048, 7, 7]),
                               ("avgpool", [2048, 1, 1]), ("fc", [1000])] {
            XCTAssertEqual(resnet50[stage], shape, "resnet50 \(stage)")
        }
        let resnet34 = try stages("resnet34", [3, 224, 224])
        for (stage, shape) in [("layer1", [64, 56, 56]), ("layer2", [128, 28, 28]), ("layer3", [256, 14, 14]),
                               ("layer4", [512, 7, 7])] {
            XCTAssertEqual(resnet34[stage], shape, "resnet34 \(stage)")
        }

        let resnet20 = try stages("resnet20", [3, 32, 32], classes: 10)
        XCTAssertEqual(resnet20["conv1"], [16, 32, 32])
        XCTAssertEqual(resnet20["layers"], [64, 8, 8])
        XCTAssertEqual(resnet20["avgpool"], [64, 1, 1])
        XCTAssertEqual(resnet20["fc"], [10])
        let blocks = try XCTUnwrap(try ModelZoo.make("resnet56", inputShape: [3, 32, 32], classes: 10).network.children
            .first { $0.name == "layers" }?.layer.children)
        XCTAssertEqual(blocks.count, 27)
        var shape = [1, 16, 32, 32]
        for (index, block) in blocks.enumerated() {
            shape = try block.layer.outputShape(for: shape)
            XCTAssertEqual(shape, index < 9 ? [1, 16, 32, 32] : index < 18 ? [1, 32, 16, 16] : [1, 64, 8, 8], "layers.\(index)")
        }
    }

    /// Other class counts, channels and sizes; inputs too small for the architecture fail at
    /// build time naming the layer.
    func testClassesChannelsAndInputSizeAreConfigurable() throws {
        XCTAssertEqual(try stages("resnet18", [1, 96, 80], classes: 7)["layer4"], [512, 3, 3])
        XCTAssertEqual(try stages("googlenet", [3, 32, 32], classes: 5)["inception5b"], [1024, 1, 1])
        XCTAssertEqual(try stages("vgg11_bn", [3, 32, 32], classes: 3)["features"], [512, 1, 1])
        XCTAssertEqual(try stages("vgg11_bn", [3, 32, 32], classes: 3)["avgpool"], [512, 7, 7])
        XCTAssertEqual(try stages("alexnet", [3, 64, 64], classes: 100)["avgpool"], [256, 6, 6])
        XCTAssertEqual(try stages("resnet110", [3, 16, 16], classes: 100)["layers"], [64, 4, 4])
        XCTAssertEqual(try ModelZoo.make("resnet20", inputShape: [1, 28, 28], classes: 10).parameterCount, 272_474 - 2 * 16 * 9)
        XCTAssertEqual(try ModelZoo.make("vgg16", inputShape: [3, 32, 32], classes: 10).parameterCount,
                       138_357_544 - 990 * 4097)
        XCTAssertThrowsError(try ModelZoo.make("alexnet", inputShape: [3, 32, 32], classes: 10)) {
            XCTAssertTrue("\($0)".contains("features.12"), "\($0)")
        }
        XCTAssertThrowsError(try ModelZoo.make("vgg11", inputShape: [3, 16, 16], classes: 10)) {
            XCTAssertTrue("\($0)".contains("features."), "\($0)")
        }
    }

    func testInitialisationIsDeterministicFromTheSeed() throws {
        for name in ["googlenet", "resnet20"] {
            let shape = ModelZoo.defaultInputShape(name)
            let a = try ModelZoo.make(name, inputShape: shape, classes: 10)
            let b = try ModelZoo.make(name, inputShape: shape, classes: 10)
            a.initializeParameters(seed: 5)
            b.initializeParameters(seed: 5)
            for ((key, p), (_, q)) in zip(a.namedParameters(), b.namedParameters()) {
                XCTAssertEqual(p.value.array, q.value.array, "\(name) \(key) differs for the same seed")
                XCTAssertTrue(p.value.array.allSatisfy(\.isFinite), "\(name) \(key)")
            }
            // PyTorch's BatchNorm2d defaults: weight 1, bias 0, running statistics 0 and 1.
            let parameters = Dictionary(uniqueKeysWithValues: a.namedParameters().map { ($0.name, $0.parameter.value.array) })
            let bn = name == "googlenet" ? "inception4c.branch2.1.bn." : "layers.4.bn1."
            XCTAssertTrue(try XCTUnwrap(parameters[bn + "weight"]).allSatisfy { $0 == 1 }, name)
            XCTAssertTrue(try XCTUnwrap(parameters[bn + "bias"]).allSatisfy { $0 == 0 }, name)
            let buffers = Dictionary(uniqueKeysWithValues: a.namedBuffers().map { ($0.name, $0.tensor.array) })
            XCTAssertTrue(try XCTUnwrap(buffers[bn + "running_mean"]).allSatisfy { $0 == 0 }, name)
            XCTAssertTrue(try XCTUnwrap(buffers[bn + "running_var"]).allSatisfy { $0 == 1 }, name)
            XCTAssertTrue(try XCTUnwrap(parameters["fc.weight"]).contains { $0 != 0 }, name)
            b.initializeParameters(seed: 6)
            XCTAssertNotEqual(a.namedParameters().last!.parameter.value.array, b.namedParameters().last!.parameter.value.array)
        }
    }

    /// Forward, loss, backward and one SGD step at batch 2 and a small input: eval-mode logits
    /// are finite, the training loss is finite, every parameter gets a finite non-zero gradient
    /// and moves by −lr·gradient, and every BatchNorm2d counted the batch.
    func trainOneStep(_ name: String, size: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let channels = ModelZoo.defaultInputShape(name)[0]
        let model = try ModelZoo.make(name, inputShape: [channels, size, size], classes: 10)
        model.initializeParameters(seed: 3)
        let input = Tensor(shape: [2, channels, size, size])
        for i in 0..<input.count { input.pointer[i] = Float(sin(Double(i) * 0.37)) }
        model.setTraining(false)
        XCTAssertTrue(model.forward(input).array.allSatisfy(\.isFinite), "\(name): eval logits", file: file, line: line)
        model.setTraining(true)
        model.beginStep(seed: 3, step: 0, rank: 0)
        let logits = model.forward(input)
        XCTAssertEqual(logits.shape, [2, 10], name, file: file, line: line)
        let loss = SoftmaxCrossEntropy()
        let result = loss.forward(logits: logits, labels: [1, 7])
        XCTAssertTrue(result.lossSum.isFinite, "\(name): loss \(result.lossSum)", file: file, line: line)
        model.backward(loss.gradient)

        // Per parameter, the element with the largest gradient and its value before the step.
        let learningRate: Float = 0.1
        var probes: [(index: Int, value: Float, gradient: Float)] = []
        for (key, parameter) in model.namedParameters() {
            let gradient = parameter.gradient.buffer
            var best = 0
            for i in gradient.indices where abs(gradient[i]) > abs(gradient[best]) { best = i }
            XCTAssertTrue(gradient.allSatisfy(\.isFinite), "\(name) \(key): non-finite gradient", file: file, line: line)
            XCTAssertGreaterThan(abs(gradient[best]), 0, "\(name) \(key): zero gradient", file: file, line: line)
            probes.append((best, parameter.value[best], gradient[best]))
        }
        SGD(parameters: model.namedParameters(), options: SGD.Options(learningRate: Double(learningRate))).step()
        // With PyTorch's default initialisation the first layers of plain VGG-19 get gradients
        // below a float's resolution at their weights (as in PyTorch): those may stay put.
        var changed = 0
        for ((key, parameter), probe) in zip(model.namedParameters(), probes) {
            let expected = probe.value - learningRate * probe.gradient
            XCTAssertEqual(parameter.value[probe.index], expected, "\(name) \(key)", file: file, line: line)
            if expected != probe.value { changed += 1 }
        }
        let count = probes.count
        XCTAssertGreaterThan(changed, count * 3 / 4, "\(name): only \(changed) of \(count) parameters changed",
                             file: file, line: line)
        XCTAssertNotEqual(probes.last!.value, model.namedParameters().last!.parameter.value[probes.last!.index],
                          "\(name): the last layer did not change", file: file, line: line)
        for (key, tensor) in model.namedBuffers() where key.hasSuffix("num_batches_tracked") {
            XCTAssertEqual(tensor.array, [1], "\(name) \(key)", file: file, line: line)
        }
    }

    func testLeNetAlexNetAndGoogLeNetTrainOneStep() throws {
        try trainOneStep("lenet5", size: 28)
        try trainOneStep("alexnet", size: 64)
        try trainOneStep("googlenet", size: 32)
    }

    func testVGGsTrainOneStep() throws {
        for depth in [11, 13, 16, 19] {
            try trainOneStep("vgg\(depth)", size: 32)
            try trainOneStep("vgg\(depth)_bn", size: 32)
        }
    }

    func testImageNetResNetsTrainOneStep() throws {
        for depth in [18, 34, 50, 101, 152] { try trainOneStep("resnet\(depth)", size: 32) }
    }

    func testCifarResNetsTrainOneStep() throws {
        for name in Self.cifarResNets { try trainOneStep(name, size: 16) }
    }
}
