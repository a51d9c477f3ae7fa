import Foundation
import NN
import Reports

/// Where a training step's time goes: per leaf layer the forward, input-gradient and
/// weight-gradient time, its share of the step, its achieved GFLOP/s and the kernels that ran;
/// then the time outside layers (loss, optimizer, all-reduce wait, the rest). The
/// `bench train --profile` table, as torch.profiler's per-operator table.
public struct LayerProfile: Encodable, Sendable {
    public struct Row: Encodable, Sendable {
        public var layer: String
        public var kind: String
        public var output: String
        /// Milliseconds per step.
        public var forwardMs: Double
        public var inputGradientMs: Double
        public var weightGradientMs: Double?
        public var share: Double
        /// 2 · multiply-accumulates · batch per pass, over the time of the passes that ran; nil
        /// for layers without MACs (activations, pooling, normalisation).
        public var gflops: Double?
        public var kernel: String?

        public var totalMs: Double { forwardMs + inputGradientMs + (weightGradientMs ?? 0) }

        enum CodingKeys: String, CodingKey {
            case layer, kind, output, forwardMs = "forward_ms", inputGradientMs = "input_gradient_ms"
            case weightGradientMs = "weight_gradient_ms", share, gflops, kernel
        }
    }

    /// Time outside the layers, per step.
    public struct Outside: Encodable, Sendable {
        public var name: String
        public var ms: Double
        public var share: Double
    }

    public var model: String
    public var batch: Int
    public var threads: Int
    public var steps: Int
    public var stepMs: Double
    public var layers: [Row]
    public var outside: [Outside]

    enum CodingKeys: String, CodingKey {
        case model, batch, threads, steps, stepMs = "step_ms", layers, outside
    }

    /// The rows of `profiler`'s times for `model`'s leaves over `steps` steps of `batch` images
    /// per rank; `stepSeconds`, `lossSeconds`, `optimizerSeconds`, `waitSeconds`: totals over them.
    /// `dataSeconds`: time waiting for batches (training runs; nil: not part of the step).
    public init(
        model: Model, profiler: LayerProfiler, batch: Int, threads: Int, steps: Int, stepSeconds: Double,
        lossSeconds: Double, optimizerSeconds: Double, waitSeconds: Double, dataSeconds: Double? = nil
    ) throws {
        let summaryRows = try ModelSummary(model: model).rows
        let summary = Dictionary(summaryRows.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let perStep = 1000 / Double(max(steps, 1)), step = stepSeconds * perStep
        var rows: [Row] = []
        for (path, layer) in model.network.namedLeaves() {
            let times = profiler.times(of: layer)
            let names = (layer as? KernelNaming)?.kernelNames
            let hasWeights = names != nil
            let info = summary[path]
            let macs = Double(info?.multiplyAccumulates ?? 0) * Double(batch)
            // Passes with MACs: forward, weight gradient, and the input gradient where it ran.
            let passes = 2.0 + (layer.needsInputGradient ? 1 : 0)
            let seconds = times.forward + times.backward
            let kernel = names.map { n in
                n.forward == n.inputGradient && n.forward == n.weightGradient
                    ? n.forward : "\(n.forward) / dX \(n.inputGradient) / dW \(n.weightGradient)"
            } ?? fusionNote(layer)
            rows.append(
                Row(
                    layer: path, kind: layer.kind,
                    output: info?.outputShape.map(String.init).joined(separator: "x") ?? "",
                    forwardMs: times.forward * perStep,
                    inputGradientMs: (hasWeights ? times.inputGradient : times.backward) * perStep,
                    weightGradientMs: hasWeights ? times.weightGradient * perStep : nil,
                    share: step > 0 ? times.total * perStep / step : 0,
                    gflops: macs > 0 && seconds > 0 ? 2 * macs * passes * Double(steps) / seconds / 1e9 : nil,
                    kernel: kernel))
        }
        let inLayers = rows.reduce(0) { $0 + $1.totalMs }
        let loss = lossSeconds * perStep, optimizer = optimizerSeconds * perStep, wait = waitSeconds * perStep
        let data = (dataSeconds ?? 0) * perStep
        let rest = step - inLayers - loss - optimizer - wait - data
        func share(_ ms: Double) -> Double { step > 0 ? ms / step : 0 }
        self.model = model.name
        self.batch = batch
        self.threads = threads
        self.steps = steps
        self.stepMs = step
        layers = rows
        outside =
            ([
                ("loss (softmax cross-entropy)", loss), ("optimizer (SGD)", optimizer),
                ("all-reduce wait", wait),
            ] + (dataSeconds == nil ? [] : [("data (waiting for the batch)", data)])
            + [("other (containers, residual sums, hooks)", rest)])
            .map { Outside(name: $0.0, ms: $0.1, share: share($0.1)) }
    }

    /// The table: one line per layer, then the time outside layers and the step.
    public var table: String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "—" }
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + space : space + text
        }
        let nameWidth = max(24, (layers.map { ($0.layer + " " + $0.kind).count }.max() ?? 0) + 2)
        var lines = [
            "\(model), batch \(batch) per rank, \(threads) thread(s), \(steps) step(s) profiled: "
                + String(format: "%.1f ms per step", stepMs), "",
            pad("layer", nameWidth, left: true) + pad("output", 12) + pad("fwd ms", 9) + pad("dX ms", 9)
                + pad("dW ms", 9) + pad("share", 8) + pad("GFLOP/s", 9) + "  kernel",
        ]
        for row in layers {
            lines.append(
                pad(row.layer + " " + row.kind, nameWidth, left: true) + pad(row.output, 12)
                    + pad(ms(row.forwardMs), 9) + pad(ms(row.inputGradientMs), 9) + pad(ms(row.weightGradientMs), 9)
                    + pad(String(format: "%.1f%%", 100 * row.share), 8)
                    + pad(row.gflops.map { String(format: "%.1f", $0) } ?? "—", 9) + "  " + (row.kernel ?? ""))
        }
        let inLayers = layers.reduce(0) { $0 + $1.totalMs }
        lines.append("")
        lines.append(
            pad("layers", nameWidth, left: true) + pad("", 12) + pad(ms(inLayers), 27)
                + pad(String(format: "%.1f%%", stepMs > 0 ? 100 * inLayers / stepMs : 0), 8))
        for item in outside {
            lines.append(
                pad(item.name, nameWidth + 12, left: true) + pad(ms(item.ms), 27)
                    + pad(String(format: "%.1f%%", 100 * item.share), 8))
        }
        lines.append(pad("step", nameWidth, left: true) + pad("", 12) + pad(ms(stepMs), 27) + pad("100.0%", 8))
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: String { JSONLines.encode(self) }
}

/// The profile's kernel column for a batch norm that applies the ReLU after it (whose time it
/// then includes) or its residual block's shortcut sum and ReLU, or that leaves its output to the
/// convolution after it (whose time then includes the normalisation), and for that ReLU (which
/// then takes none).
private func fusionNote(_ layer: Layer) -> String? {
    if let norm = layer as? BatchNorm2d, norm.leftOutputToReader {
        return norm.appliesReLU ? "statistics; next conv normalises, ReLU" : "statistics; next conv normalises"
    }
    if (layer as? BatchNorm2d)?.appliesReLU == true { return "+ next ReLU" }
    if (layer as? BatchNorm2d)?.addedShortcut == true { return "+ shortcut sum, ReLU" }
    if (layer as? ReLU)?.passesThrough == true { return "with the BatchNorm2d before" }
    return nil
}
