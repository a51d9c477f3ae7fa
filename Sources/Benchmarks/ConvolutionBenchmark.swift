import Foundation
import NN
import Reports
import TensorCore

/// Times every algorithm that can run each pass of each distinct convolution in a model
/// (`bench conv`): the measurement behind `Convolution.choice`, and how a user checks that
/// the choice is the fastest on their CPU. Candidates are timed in turn, call by call, and
/// the median of each one's calls counts, so a noisy neighbour slows all of them alike.
public enum ConvolutionBenchmark {
    /// One pass of one geometry: each candidate's median milliseconds, the chosen one first.
    public struct Row: Encodable, Sendable {
        public var layers: [String]
        public var geometry: String
        public var pass: String
        public var gflop: Double
        public var chosen: String
        public var timings: [Timing]

        public struct Timing: Encodable, Sendable {
            public var algorithm: String
            public var milliseconds: Double

            public func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(algorithm, forKey: .algorithm)
                try c.encodeNumber(rounded(milliseconds, places: 3), forKey: .milliseconds)
            }

            enum CodingKeys: String, CodingKey { case algorithm, milliseconds = "ms" }
        }

        /// The fastest candidate's name.
        public var fastest: String { timings.min { $0.milliseconds < $1.milliseconds }?.algorithm ?? chosen }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(layers, forKey: .layers)
            try c.encode(geometry, forKey: .geometry)
            try c.encode(pass, forKey: .pass)
            try c.encodeNumber(rounded(gflop, places: 4), forKey: .gflop)
            try c.encode(chosen, forKey: .chosen)
            try c.encode(fastest, forKey: .fastest)
            try c.encode(timings, forKey: .timings)
        }

        enum CodingKeys: String, CodingKey { case layers, geometry, pass, gflop, chosen, fastest, timings }

        public var jsonLine: String { JSONLines.encode(self) }
    }

    /// The distinct convolution geometries of `model` at `batch` images (apart for layers with
    /// and without a bias, whose weight gradient also sums the output gradient), each with the
    /// layers that have it, in network order.
    public static func geometries(of model: Model, batch: Int)
        -> [(layers: [String], geometry: ConvolutionGeometry, withBias: Bool)]
    {
        var random = RandomGenerator(seed: 1)
        let input = Tensor(shape: [batch] + model.inputShape)
        for i in 0..<input.count { input[i] = random.normal() }
        _ = model.network.forward(input)
        var found: [(layers: [String], geometry: ConvolutionGeometry, withBias: Bool)] = []
        for (path, layer) in model.network.namedLeaves() {
            guard let convolution = layer as? Conv2d, let g = convolution.lastGeometry else { continue }
            let withBias = convolution.bias != nil
            if let index = found.firstIndex(where: { $0.geometry == g && $0.withBias == withBias }) {
                found[index].layers.append(path)
            } else {
                found.append(([path], g, withBias))
            }
        }
        return found
    }

    /// Each pass of `g` with each candidate, `calls` timed calls each after one untimed one; the
    /// forward pass adds a bias and the weight gradient computes its gradient `withBias` only, as
    /// the layers do. In bf16 the candidates are a bf16 layer's on `BFloat16ISA.active` (the bf16
    /// GEMM and Float32 kernels on bf16 operands; on the emulated path the Float32 kernels), given
    /// operands rounded to bf16 and rounding their output and input gradient, as `Conv2d` does.
    public static func measure(_ g: ConvolutionGeometry, layers: [String], withBias: Bool = true,
                               calls: Int, precision: ComputePrecision = .fp32) -> [Row] {
        var random = RandomGenerator(seed: 2)
        let product = MatrixProduct.forPrecision(precision), rounds = precision.roundsToBFloat16
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in rounds ? BFloat16.round(random.normal()) : random.normal() }
        }
        let input = values(g.inputCount), weight = values(g.weightCount), gradOutput = values(g.outputCount)
        let bias = values(g.outChannels)
        var output = [Float](repeating: 0, count: g.outputCount)
        var gradInput = [Float](repeating: 0, count: g.inputCount)
        var gradWeight = [Float](repeating: 0, count: g.weightCount)
        var gradBias = [Float](repeating: 0, count: g.outChannels)
        let gflop = 2 * Double(g.outputCount) * Double(g.inChannelsPerGroup * g.kernelHeight * g.kernelWidth) / 1e9
        return ConvolutionPass.allCases.map { pass in
            let candidates = Convolution.candidates(g, pass, product: product)
            func call(_ algorithm: ConvolutionAlgorithm) {
                switch pass {
                case .forward:
                    bias.withUnsafeBufferPointer { bias in
                        Convolution.forward(g, input: input, weight: weight, bias: withBias ? bias.baseAddress : nil,
                                            output: &output, algorithm: algorithm, product: product,
                                            roundsOutput: rounds)
                    }
                case .inputGradient:
                    Convolution.backwardInput(
                        g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput,
                        algorithm: algorithm, product: product, roundsGradInput: rounds)
                case .weightGradient:
                    gradBias.withUnsafeMutableBufferPointer { gradBias in
                        Convolution.backwardWeight(
                            g, input: input, gradOutput: gradOutput, gradWeight: &gradWeight,
                            gradBias: withBias ? gradBias.baseAddress : nil, algorithm: algorithm, product: product)
                    }
                }
            }
            var seconds = Array(repeating: [Double](), count: candidates.count)
            for algorithm in candidates { call(algorithm) }
            for _ in 0..<calls {
                for (i, algorithm) in candidates.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    call(algorithm)
                    seconds[i].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
            }
            let timings = candidates.indices.map { i in
                Row.Timing(algorithm: Convolution.name(candidates[i], g, product: product),
                           milliseconds: median(seconds[i]) * 1000)
            }
            let chosen = Convolution.choice(g, pass, product: product)
            return Row(
                layers: layers, geometry: "\(g)", pass: pass.rawValue, gflop: gflop,
                chosen: Convolution.name(chosen, g, product: product), timings: timings)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The rows as text: a line naming the layers and geometry, then one line per pass with
    /// each candidate's median ms and GFLOP/s, the choice, and which was faster where it
    /// was not the choice.
    public static func table(_ rows: [Row]) -> String {
        var lines: [String] = []
        var lastGeometry = ""
        for row in rows {
            if row.geometry != lastGeometry {
                lines.append("\(row.layers.joined(separator: ", ")): \(row.geometry)")
                lastGeometry = row.geometry
            }
            let cells = row.timings.map { t in
                String(
                    format: "%@ %.2f ms %.1f", t.algorithm, t.milliseconds,
                    t.milliseconds > 0 ? row.gflop / (t.milliseconds / 1000) : 0)
            }
            let verdict = row.fastest == row.chosen ? "" : "  (\(row.fastest) faster)"
            let pass = row.pass.padding(toLength: 16, withPad: " ", startingAt: 0)
            lines.append("  \(pass) \(cells.joined(separator: "  |  "))  → \(row.chosen)\(verdict)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
