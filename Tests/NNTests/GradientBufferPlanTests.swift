import XCTest

@testable import NN
@testable import TensorCore

/// Input gradients sharing memory (GradientBufferPlan) must change no value: a planned
/// network computes bit for bit what the same layers compute with a buffer each.
final class GradientBufferPlanTests: XCTestCase {
    override func setUp() {
        Parallel.threadCount = 2
    }

    /// Every kind of link the plan handles: a stem with an in-place ReLU, residual blocks with
    /// an identity shortcut, a downsampling shortcut, a non-fused activation and paths ending in
    /// a pass-through ReLU, a Concat with a chain inside a branch, pooling, Flatten and Linear.
    func network(seed: UInt64) -> Sequential {
        let net = Sequential([
            ("conv1", Conv2d(3, 4, kernelSize: 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(4)), ("relu", ReLU()),
            ("block1", Residual(main: [("conv1", Conv2d(4, 4, kernelSize: 3, padding: 1, bias: false)),
                                       ("bn1", BatchNorm2d(4)), ("relu", ReLU()),
                                       ("conv2", Conv2d(4, 4, kernelSize: 3, padding: 1, bias: false)),
                                       ("bn2", BatchNorm2d(4))])),
            ("block2", Residual(main: [("conv1", Conv2d(4, 6, kernelSize: 3, stride: 2, padding: 1, bias: false)),
                                       ("bn1", BatchNorm2d(6)), ("relu", ReLU()),
                                       ("conv2", Conv2d(6, 6, kernelSize: 3, padding: 1, bias: false)),
                                       ("bn2", BatchNorm2d(6))],
                                shortcut: ("downsample", Sequential(indexed: [
                                    Conv2d(4, 6, kernelSize: 1, stride: 2, bias: false), BatchNorm2d(6)])))),
            ("block3", Residual(main: [("conv", Conv2d(6, 6, kernelSize: 1)), ("bn", BatchNorm2d(6))],
                                activation: LeakyReLU(negativeSlope: 0.1))),
            // Both paths end in a batch norm that applies the ReLU after it: the pass-through
            // ReLUs hand on the gradient at the sum, which both paths read.
            ("block4", Residual(main: [("conv", Conv2d(6, 6, kernelSize: 3, padding: 1)), ("bn", BatchNorm2d(6)),
                                       ("relu", ReLU())],
                                shortcut: ("projection", Sequential(indexed: [
                                    Conv2d(6, 6, kernelSize: 1), BatchNorm2d(6), ReLU()])))),
            ("mixed", Concat([("a", Sequential(indexed: [Conv2d(6, 2, kernelSize: 1), ReLU()])),
                              ("b", Conv2d(6, 3, kernelSize: 3, padding: 1))])),
            ("pool", MaxPool2d(kernelSize: 2)),
            ("avgpool", AdaptiveAvgPool2d(outputSize: 1)), ("flatten", Flatten()), ("fc", Linear(5, 3)),
        ])
        net.initializeParameters(seed: seed)
        return net
    }

    /// `steps` training steps of `planned` and `reference` from the same random inputs and
    /// output gradients give bit for bit the same outputs and parameter gradients.
    func assertSameSteps(_ planned: Model, _ reference: Layer, input: [Int], output: [Int], steps: Int, seed: UInt64,
                         file: StaticString = #filePath, line: UInt = #line) {
        for step in 0..<steps {
            let x = GradientCheck.randomTensor(input, seed: seed + UInt64(2 * step))
            let gradOutput = GradientCheck.randomTensor(output, seed: seed + UInt64(2 * step + 1))
            XCTAssertEqual(planned.forward(x).array, reference.forward(x).array, "output, step \(step)",
                           file: file, line: line)
            planned.backward(gradOutput)
            _ = reference.backward(gradOutput)
            for (p, r) in zip(planned.namedParameters(), reference.namedParameters()) {
                XCTAssertEqual(p.parameter.gradient.array, r.parameter.gradient.array, "\(p.name), step \(step)",
                               file: file, line: line)
            }
        }
    }

    func testPlannedNetworkComputesBitwiseWhatPrivateBuffersCompute() throws {
        let planned = try Model(name: "mixed", inputShape: [3, 8, 8], classes: 3, network: network(seed: 5))
        XCTAssertGreaterThan(planned.gradientBuffers.sharedTensors, 15)
        let reference = network(seed: 5)
        reference.needsInputGradient = false
        assertSameSteps(planned, reference, input: [4, 3, 8, 8], output: [4, 3], steps: 3, seed: 20)
    }

    /// With the input gradient wanted too, finite differences agree with a planned network.
    func testPlannedNetworkPassesGradientCheck() {
        let net = network(seed: 6)
        GradientBufferPlan.apply(to: net)
        GradientCheck.check(net, input: GradientCheck.randomTensor([2, 3, 8, 8], seed: 7), step: 2e-3,
                            tolerance: 5e-2, samples: 30)
    }

    /// ResNet-20 at batch 4: four slots, each as large as the largest gradient (a 16x32x32
    /// plane per image), hold every planned gradient (the first convolution computes none).
    func testResNet20NeedsFourSlots() throws {
        let model = try ModelZoo.make("resnet20", inputShape: [3, 32, 32], classes: 10)
        model.initializeParameters(seed: 1)
        model.forward(GradientCheck.randomTensor([4, 3, 32, 32], seed: 2))
        model.backward(GradientCheck.randomTensor([4, 10], seed: 3))
        let plan = model.gradientBuffers
        XCTAssertEqual(plan.slots.count, 4)
        // 19 convolutions + 19 batch norms + 2 shortcut pairs + 9 blocks × 2 (sum, input) +
        // pool, flatten, fc, minus the stem convolution.
        XCTAssertEqual(plan.sharedTensors, 19 + 19 + 4 + 18 + 3 - 1)
        XCTAssertEqual(plan.slots.map(\.capacity), Array(repeating: 4 * 16 * 32 * 32, count: 4))
    }

    /// The Concat cases the plan must keep apart: a Concat as the first layer (no input
    /// gradient wanted), an identity branch (which returns its slice), a nested Concat, a
    /// branch ending in an in-place ReLU, and a Concat as the last layer (its gradient comes
    /// from the loss): bit for bit what the same layers compute with a buffer each.
    func testPlannedConcatsComputeBitwiseWhatPrivateBuffersCompute() throws {
        func network() -> Sequential {
            let net = Sequential([
                ("first", Concat([
                    ("a", Conv2d(3, 2, kernelSize: 1)),
                    ("b", Sequential(indexed: [Conv2d(3, 2, kernelSize: 3, padding: 1), ReLU()])),
                ])),
                ("nested", Concat([
                    ("identity", Sequential([])),
                    ("inner", Concat([
                        ("c", Conv2d(4, 2, kernelSize: 1)),
                        ("d", Sequential(indexed: [Conv2d(4, 2, kernelSize: 1), BatchNorm2d(2), ReLU()])),
                    ])),
                    ("chain", Sequential(indexed: [Conv2d(4, 3, kernelSize: 3, padding: 1), ReLU(),
                                                   Conv2d(3, 4, kernelSize: 1)])),
                ])),
                ("pool", AdaptiveAvgPool2d(outputSize: 1)), ("flatten", Flatten()),
                ("head", Concat([("x", Linear(12, 2)), ("y", Linear(12, 1))])),
            ])
            net.initializeParameters(seed: 8)
            return net
        }
        let planned = try Model(name: "concats", inputShape: [3, 6, 6], classes: 3, network: network())
        let reference = network()
        reference.needsInputGradient = false
        assertSameSteps(planned, reference, input: [3, 3, 6, 6], output: [3, 3], steps: 3, seed: 40)
        XCTAssertGreaterThan(planned.gradientBuffers.sharedTensors, 12)
    }

    /// GoogLeNet: the input gradients inside its nine Inception blocks share the slots too
    /// (they had kept a buffer per layer), and its step equals, bit for bit, the same network
    /// whose blocks keep their buffers: output and parameter gradients (the first layer
    /// computes no input gradient).
    func testGoogLeNetSharesItsInceptionGradients() throws {
        func make(plansConcat: Bool) throws -> Model {
            let saved = GradientBufferPlan.plansConcat
            GradientBufferPlan.plansConcat = plansConcat
            defer { GradientBufferPlan.plansConcat = saved }
            let model = try ModelZoo.make("googlenet", inputShape: [3, 64, 64], classes: 10)
            model.initializeParameters(seed: 3)
            return model
        }
        let model = try make(plansConcat: true), reference = try make(plansConcat: false)
        XCTAssertEqual(model.network.namedLayers().filter { $0.layer is Concat }.count, 9)
        // Each block: four branch slices, the sum, and the branches' layers (1 + 2 + 2 + 2
        // convolutions with their batch norms, ReLUs passing through, and a pool).
        XCTAssertGreaterThan(model.gradientBuffers.sharedTensors, reference.gradientBuffers.sharedTensors + 9 * 5)
        XCTAssertLessThanOrEqual(model.gradientBuffers.slots.count, 8)
        assertSameSteps(model, reference.network, input: [2, 3, 64, 64], output: [2, 10], steps: 2, seed: 4)
    }
}
