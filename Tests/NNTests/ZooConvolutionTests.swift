import XCTest

@testable import NN
@testable import TensorCore

/// Every distinct convolution of AlexNet, VGG-16, GoogLeNet, ResNet-50 and ResNet-18 at
/// 224x224, run by every algorithm that can run each pass (forced one by one), checked
/// against the naive definition at sampled outputs (the full naive reference of VGG-16
/// alone would be 15 G multiply-adds per image). Batch 1–4 and threads 1–4 rotate over the
/// geometries.
final class ZooConvolutionTests: XCTestCase {
    func testEveryZooGeometryEveryAlgorithmAgainstTheDefinition() throws {
        var geometries: [ConvolutionGeometry] = []
        for name in ["alexnet", "vgg16", "googlenet", "resnet50", "resnet18"] {
            let model = try ModelZoo.make(name, inputShape: ModelZoo.defaultInputShape(name), classes: 10)
            _ = model.network.forward(Tensor(shape: [1] + model.inputShape))
            for (_, layer) in model.network.namedLeaves() {
                guard let g = (layer as? Conv2d)?.lastGeometry, !geometries.contains(g) else { continue }
                geometries.append(g)
            }
        }
        XCTAssertGreaterThan(geometries.count, 60, "the zoo's distinct convolutions")
        var random = SplitMix(seed: 11)
        for (index, single) in geometries.enumerated() {
            var g = single
            g.batch = 1 + (index / 4) % 4
            let threads = 1 + index % 4
            let x = (0..<g.inputCount).map { _ in random.value() }
            let w = (0..<g.weightCount).map { _ in random.value() }
            let dy = (0..<g.outputCount).map { _ in random.value() }
            let bias = (0..<g.outChannels).map { _ in random.value() }
            let check = SampledConvolution(g: g, input: x, weight: w, bias: bias, gradOutput: dy)
            withThreadCount(threads) {
                for algorithm in Convolution.candidates(g, .forward) {
                    var y = [Float](repeating: .nan, count: g.outputCount)
                    Convolution.forward(g, input: x, weight: w, bias: bias, output: &y, algorithm: algorithm)
                    check.forward(y, "\(g) \(algorithm) threads \(threads)", random: &random)
                }
                for algorithm in Convolution.candidates(g, .inputGradient) {
                    var dx = [Float](repeating: .nan, count: g.inputCount)
                    Convolution.backwardInput(g, gradOutput: dy, weight: w, gradInput: &dx, algorithm: algorithm)
                    check.inputGradient(dx, "\(g) \(algorithm) threads \(threads)", random: &random)
                }
                for algorithm in Convolution.candidates(g, .weightGradient) {
                    var dw = [Float](repeating: .nan, count: g.weightCount)
                    var db = [Float](repeating: .nan, count: g.outChannels)
                    Convolution.backwardWeight(
                        g, input: x, gradOutput: dy, gradWeight: &dw, gradBias: &db,
                        algorithm: algorithm)
                    check.weightGradient(dw, db, "\(g) \(algorithm) threads \(threads)", random: &random)
                }
            }
        }
    }

    private func withThreadCount(_ threads: Int, _ body: () -> Void) {
        let saved = Parallel.threadCount
        Parallel.threadCount = threads
        defer { Parallel.threadCount = saved }
        body()
    }
}

/// A small deterministic generator of values in [-1, 1) and sample positions.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func value() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The convolution's definition evaluated at single outputs, in Double: PyTorch's
/// cross-correlation with stride, padding, dilation and groups.
private struct SampledConvolution {
    let g: ConvolutionGeometry
    let input: [Float], weight: [Float], bias: [Float], gradOutput: [Float]
    let samples = 48

    func x(_ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Double {
        guard h >= 0 && h < g.inHeight && w >= 0 && w < g.inWidth else { return 0 }
        return Double(input[((n * g.inChannels + c) * g.inHeight + h) * g.inWidth + w])
    }

    func weightAt(_ f: Int, _ c: Int, _ ki: Int, _ kj: Int) -> Double {
        Double(weight[((f * g.inChannelsPerGroup + c) * g.kernelHeight + ki) * g.kernelWidth + kj])
    }

    func dy(_ n: Int, _ f: Int, _ oh: Int, _ ow: Int) -> Double {
        Double(gradOutput[((n * g.outChannels + f) * g.outHeight + oh) * g.outWidth + ow])
    }

    /// |fast − exact| within 1e-4 of the sum of the terms' magnitudes (Float32 accumulation).
    func expect(_ fast: Float, _ exact: Double, scale: Double, _ label: String) {
        XCTAssertLessThanOrEqual(abs(Double(fast) - exact), 1e-4 * scale + 1e-6, label)
    }

    func forward(_ y: [Float], _ label: String, random: inout SplitMix) {
        XCTAssertFalse(y.contains(where: \.isNaN), "every output written by \(label)")
        for _ in 0..<samples {
            let n = random.below(g.batch), f = random.below(g.outChannels)
            let oh = random.below(g.outHeight), ow = random.below(g.outWidth)
            let group = f / g.outChannelsPerGroup
            var sum = Double(bias[f]), scale = abs(sum)
            for c in 0..<g.inChannelsPerGroup {
                for ki in 0..<g.kernelHeight {
                    for kj in 0..<g.kernelWidth {
                        let term =
                            weightAt(f, c, ki, kj)
                            * x(
                                n, group * g.inChannelsPerGroup + c,
                                oh * g.strideHeight - g.padHeight + ki * g.dilationHeight,
                                ow * g.strideWidth - g.padWidth + kj * g.dilationWidth)
                        sum += term
                        scale += abs(term)
                    }
                }
            }
            expect(
                y[((n * g.outChannels + f) * g.outHeight + oh) * g.outWidth + ow], sum, scale: scale,
                "forward at \([n, f, oh, ow]) of \(label)")
        }
    }

    func inputGradient(_ dx: [Float], _ label: String, random: inout SplitMix) {
        XCTAssertFalse(dx.contains(where: \.isNaN), "every input gradient written by \(label)")
        for _ in 0..<samples {
            let n = random.below(g.batch), c = random.below(g.inChannels)
            let h = random.below(g.inHeight), w = random.below(g.inWidth)
            let group = c / g.inChannelsPerGroup, cInGroup = c % g.inChannelsPerGroup
            var sum = 0.0, scale = 0.0
            for f in (group * g.outChannelsPerGroup)..<((group + 1) * g.outChannelsPerGroup) {
                for ki in 0..<g.kernelHeight {
                    let top = h + g.padHeight - ki * g.dilationHeight
                    guard top >= 0 && top % g.strideHeight == 0 && top / g.strideHeight < g.outHeight else { continue }
                    for kj in 0..<g.kernelWidth {
                        let left = w + g.padWidth - kj * g.dilationWidth
                        guard left >= 0 && left % g.strideWidth == 0 && left / g.strideWidth < g.outWidth else {
                            continue
                        }
                        let term = weightAt(f, cInGroup, ki, kj) * dy(n, f, top / g.strideHeight, left / g.strideWidth)
                        sum += term
                        scale += abs(term)
                    }
                }
            }
            expect(
                dx[((n * g.inChannels + c) * g.inHeight + h) * g.inWidth + w], sum, scale: scale,
                "input gradient at \([n, c, h, w]) of \(label)")
        }
    }

    func weightGradient(_ dw: [Float], _ db: [Float], _ label: String, random: inout SplitMix) {
        XCTAssertFalse(dw.contains(where: \.isNaN) || db.contains(where: \.isNaN), "every gradient written by \(label)")
        for _ in 0..<samples {
            let f = random.below(g.outChannels), c = random.below(g.inChannelsPerGroup)
            let ki = random.below(g.kernelHeight), kj = random.below(g.kernelWidth)
            let channel = (f / g.outChannelsPerGroup) * g.inChannelsPerGroup + c
            var sum = 0.0, scale = 0.0
            for n in 0..<g.batch {
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        let term =
                            dy(n, f, oh, ow)
                            * x(
                                n, channel, oh * g.strideHeight - g.padHeight + ki * g.dilationHeight,
                                ow * g.strideWidth - g.padWidth + kj * g.dilationWidth)
                        sum += term
                        scale += abs(term)
                    }
                }
            }
            expect(
                dw[((f * g.inChannelsPerGroup + c) * g.kernelHeight + ki) * g.kernelWidth + kj], sum, scale: scale,
                "weight gradient at \([f, c, ki, kj]) of \(label)")
        }
        let f = random.below(g.outChannels)
        var sum = 0.0, scale = 0.0
        for n in 0..<g.batch {
            for oh in 0..<g.outHeight {
                for ow in 0..<g.outWidth {
                    sum += dy(n, f, oh, ow)
                    scale += abs(dy(n, f, oh, ow))
                }
            }
        }
        expect(db[f], sum, scale: scale, "bias gradient \(f) of \(label)")
    }
}
