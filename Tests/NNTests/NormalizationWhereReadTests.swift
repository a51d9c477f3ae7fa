import XCTest

@testable import NN
@testable import TensorCore

/// In Float32 a batch norm leaves its output unwritten when the convolution after it reads its
/// input piece by piece; that convolution normalises what it reads (`ChannelNormalization`).
/// Networks train and evaluate bit for bit as with the output written.
final class NormalizationWhereReadTests: XCTestCase {
    private func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, values: (0..<count).map { _ in generator.uniform(-1, 1) })
    }

    /// A chain of reader kinds: 3x3 convolutions on 8 and 32 channels, a 1x1 after a batch norm
    /// without a ReLU, a 3x3 stride 2, and a residual block with a projection, whose inner batch
    /// norm leaves its output to conv2 and whose last one adds the shortcut (and writes). The
    /// kernels are those this CPU chooses (direct or lowered at these sizes); each kernel, Winograd
    /// included, is forced one by one in ChannelNormalizationTests.
    private func network() -> Sequential {
        let block = Residual(
            main: [("conv1", Conv2d(32, 32, kernelSize: 3, padding: 1, bias: false)), ("bn1", BatchNorm2d(32)),
                   ("relu", ReLU()), ("conv2", Conv2d(32, 16, kernelSize: 1, bias: false)),
                   ("bn2", BatchNorm2d(16))],
            shortcut: ("downsample", Sequential([("0", Conv2d(32, 16, kernelSize: 1, bias: false)),
                                                 ("1", BatchNorm2d(16))])))
        let chain = Sequential([
            ("stem", Conv2d(3, 8, kernelSize: 3, padding: 1)), ("bn", BatchNorm2d(8)), ("relu", ReLU()),
            ("conv", Conv2d(8, 8, kernelSize: 3, padding: 1, bias: false)), ("bn_conv", BatchNorm2d(8)),
            ("pointwise", Conv2d(8, 16, kernelSize: 1)), ("bn_pointwise", BatchNorm2d(16)),
            ("relu_pointwise", ReLU()), ("strided", Conv2d(16, 32, kernelSize: 3, stride: 2, padding: 1)),
            ("bn_strided", BatchNorm2d(32)), ("relu_strided", ReLU()),
            ("conv32", Conv2d(32, 32, kernelSize: 3, padding: 1, bias: false)), ("bn_conv32", BatchNorm2d(32)),
            ("relu_conv32", ReLU()), ("block", block),
        ])
        chain.initializeParameters(seed: 61)
        for (_, layer) in chain.namedLayers() {
            guard let norm = layer as? BatchNorm2d else { continue }
            for c in 0..<norm.numFeatures {
                norm.weight.value[c] = 0.75 + 0.1 * Float(c % 5) - (c % 4 == 3 ? 1.5 : 0)
                norm.bias.value[c] = 0.05 * Float(c % 7) - 0.1
            }
        }
        return chain
    }

    func testNetworkTrainsBitForBitAsWithTheOutputWritten() {
        let input = random([3, 3, 24, 24], seed: 62), gradOutput = random([3, 16, 12, 12], seed: 63)
        for threads in [1, 3] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let deferred = network(), written = network()
            for (_, layer) in written.namedLayers() { (layer as? BatchNorm2d)?.normalizesWhereRead = false }
            let norms = deferred.namedLayers().compactMap { item in
                (item.layer as? BatchNorm2d).map { (item.name, $0) }
            }
            for step in 0..<2 {
                for training in [true, false] {
                    deferred.setTraining(training)
                    written.setTraining(training)
                    let context = "threads \(threads) step \(step) training \(training)"
                    let output = deferred.forward(input), expected = written.forward(input)
                    XCTAssertEqual(output.array.map(\.bitPattern), expected.array.map(\.bitPattern), context)
                    // Not the one before a residual block, nor those that add the shortcut.
                    XCTAssertEqual(norms.filter { $0.1.leftOutputToReader }.map(\.0),
                                   ["bn", "bn_conv", "bn_pointwise", "bn_strided", "block.bn1"], context)
                    guard training else { continue }
                    let gradInput = deferred.backward(gradOutput), expectedInput = written.backward(gradOutput)
                    XCTAssertEqual(gradInput.array.map(\.bitPattern), expectedInput.array.map(\.bitPattern),
                                   context + " input gradient")
                    for ((name, p), (_, q)) in zip(deferred.namedParameters(), written.namedParameters()) {
                        XCTAssertEqual(p.gradient.array.map(\.bitPattern), q.gradient.array.map(\.bitPattern),
                                       "\(context) \(name) gradient")
                        // A plain SGD step, so that the next step starts from moved weights.
                        for i in 0..<p.count {
                            p.value[i] -= 0.1 * p.gradient[i]
                            q.value[i] -= 0.1 * q.gradient[i]
                        }
                    }
                    for ((name, b), (_, c)) in zip(deferred.namedBuffers(), written.namedBuffers()) {
                        XCTAssertEqual(b.array.map(\.bitPattern), c.array.map(\.bitPattern), "\(context) \(name)")
                    }
                }
            }
        }
    }

    /// In bf16 the batch norm keeps its output as bits instead (MixedPrecisionTests); it never
    /// leaves it to its reader.
    func testBFloat16BatchNormsWriteTheirOutput() {
        let chain = network()
        chain.setPrecision(.bf16)
        let norms = chain.namedLayers().compactMap { $0.layer as? BatchNorm2d }
        XCTAssertFalse(norms.contains { $0.leavesOutputToReader(inputShape: [3, $0.numFeatures, 24, 24]) })
        chain.setPrecision(.fp32)
        XCTAssertTrue(norms.contains { $0.leavesOutputToReader(inputShape: [3, $0.numFeatures, 24, 24]) })
    }
}
