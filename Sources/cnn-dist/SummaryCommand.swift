import ArgumentParser
import Configuration
import Foundation
import NN
import Reports
import Train

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a model as a table: per layer output shape, activations, parameters, MACs and receptive field; then totals for compute and memory.",
        discussion: """
            cnn-dist summary --model vgg16 [--input 3x224x224] [--classes 1000] [--format table|markdown|json]
            cnn-dist summary --config configs/vgg16-imagenet.yaml   (the config's model and data set)
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, markdown, json
    }

    @Option(name: .long, help: "Model from the zoo.") var model: String?
    @Option(name: .long, help: "YAML config: summarise its model for its data set's image shape and classes.")
    var config: String?
    @Option(name: .long, help: ArgumentHelp("Input shape of one image, CxHxW (default: the data set's, else the model's).",
                                            valueName: "CxHxW"))
    var input: String?
    @Option(name: .long, help: "Output classes (default: the data set's, else the model's).") var classes: Int?
    @Option(name: .long, help: "table, markdown or json.") var format: Format = .table

    func validate() throws {
        guard (model == nil) != (config == nil) else {
            throw ValidationError("give either --model NAME or --config FILE")
        }
        if let input { _ = try InputShapeOption.parse(input) }
    }

    func run() throws {
        let shape = try input.map(InputShapeOption.parse)
        let built: Model
        if let config {
            let trainConfig = try TrainConfig.load(file: config, knownModels: Catalog.models)
            let shapes = Catalog.shapes(for: trainConfig)
            // The config's model: a zoo name or its own layers.
            built = try ModelFactory.make(trainConfig.model, inputShape: shape ?? shapes.inputShape,
                                          classes: classes ?? shapes.classes)
        } else {
            built = try Catalog.makeModel(model!, inputShape: shape, classes: classes)
        }
        let summary = try ModelSummary(model: built)
        let printer = SummaryPrinter(summary: summary, classes: built.classes)
        switch format {
        case .table: print(printer.table(), terminator: "")
        case .markdown: print(printer.markdown(), terminator: "")
        case .json: print(printer.json())
        }
    }
}

/// `--input 3x224x224`: one image's shape.
enum InputShapeOption {
    static func parse(_ text: String) throws -> [Int] {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--input '\(text)': expected positive sizes joined by x, as 3x224x224 (channels x height x width)")
        }
        return parts.map { $0! }
    }
}

/// Renders a `ModelSummary` as an aligned text table, a Markdown table or JSON.
struct SummaryPrinter {
    let summary: ModelSummary
    let classes: Int

    static let marker = "†"
    static let header = ["layer", "output", "activations", "memory", "weights", "biases", "MACs", "RF", "jump"]
    /// Columns aligned right (numbers).
    static let numeric: Set<Int> = [2, 3, 4, 5, 6, 7, 8]

    var title: String {
        let shape = summary.inputShape.map(String.init).joined(separator: "x")
        return "\(summary.name.isEmpty ? "network" : summary.name): input \(shape), \(Self.grouped(classes)) classes"
    }

    /// The cells of every row, input first.
    var cells: [[String]] {
        let input = summary.inputShape
        var result = [["input", input.map(String.init).joined(separator: "x"), Self.grouped(summary.inputActivations),
                       Self.bytes(summary.inputActivations * ModelSummary.bytesPerValue), "", "", "",
                       input.count == 3 ? "1" : "—", input.count == 3 ? "1" : "—"]]
        for row in summary.rows {
            result.append([
                row.name + (row.uncovered == nil ? "" : " " + Self.marker),
                row.outputShape.map(String.init).joined(separator: "x"),
                row.allocatesOutput ? Self.grouped(row.activations) : "—",
                row.allocatesOutput ? Self.bytes(row.activationBytes) : "—",
                row.weights == 0 ? "" : Self.grouped(row.weights),
                row.biases == 0 ? "" : Self.grouped(row.biases),
                row.multiplyAccumulates == 0 ? "" : Self.grouped(row.multiplyAccumulates),
                row.receptiveField?.description ?? "—",
                row.jump?.description ?? "—",
            ])
        }
        return result
    }

    /// Totals as (label, value, explanation).
    var totals: [(String, String, String)] {
        let s = summary, b = ModelSummary.bytesPerValue
        return [
            ("parameters", Self.grouped(s.parameters),
             "weights \(Self.grouped(s.weights)) + biases \(Self.grouped(s.biases)); \(Self.bytes(s.parameters * b))"),
            ("multiply-accumulates", Self.grouped(s.multiplyAccumulates),
             "per image, convolutions and linear layers (\(Self.scaled(s.multiplyAccumulates)) MACs)"),
            ("forward activations", Self.grouped(s.forwardActivations),
             "values per image, input included: \(Self.bytes(s.forwardActivations * b))"),
            ("training activations", Self.grouped(s.trainingActivations),
             "values per image, activations + their gradients: \(Self.bytes(s.trainingActivations * b))"),
            ("fixed training memory", Self.grouped(s.fixedTrainingValues),
             "values whatever the batch, parameters + gradients + SGD momentum: \(Self.bytes(s.fixedTrainingValues * b))"),
        ]
    }

    var notes: [String] {
        var notes = [
            "Activation memory counts the input image and every layer output PyTorch materialises (convolutions, "
                + "linear layers, pooling, batch norm, concatenations), not in-place ReLUs, views such as Flatten and Dropout "
                + "(— in the table) or residual blocks' in-place sums.",
            "RF: receptive field of one output position in input pixels; jump: input pixels between neighbouring "
                + "outputs (effective stride); HxW where the axes differ. Float32 memory, KiB/MiB/GiB = 2^10/2^20/2^30 bytes.",
        ]
        if summary.name == "vgg16" && summary.inputShape == [3, 224, 224] {
            // torchvision's AdaptiveAvgPool2d(7) postdates the course's table; at 224 it maps 7x7 to 7x7.
            let adaptive = summary.rows.filter { $0.kind == "AdaptiveAvgPool2d" }.reduce(0) { $0 + $1.activations }
            notes.append("CS231n's \"~24M\" activations per image for VGG-16 is an arithmetic slip: its own per-layer rows "
                + "sum to \(Self.grouped(summary.forwardActivations - adaptive)) (about 15.2M), as the rows here do; "
                + "torchvision's avgpool (AdaptiveAvgPool2d, 7x7 to 7x7 at this size, still materialised) adds "
                + "\(Self.grouped(adaptive)).")
        }
        return notes
    }

    /// One footnote per layer whose stride does not tile its input, with the arithmetic.
    var footnotes: [String] {
        summary.untiledRows.map { row in
            let uncovered = row.uncovered!, input = row.uncoveredInput!, padding = row.padding
            let extent = row.windowExtent ?? 1, stride = row.windowStride ?? 1
            let height = row.inputShape.count == 3 ? row.inputShape[1] : 0, width = row.inputShape.last ?? 0
            func excess(_ size: Int, _ pad: Int, _ kernel: Int, _ step: Int) -> String {
                "\(size) + 2·\(pad) − \(kernel) = \(size + 2 * pad - kernel) is not a multiple of the stride \(step)"
            }
            func dropped(_ count: Int, _ real: Int, _ one: String, _ many: String) -> String {
                let what = real == 0 ? "padding only, no input lost" : real == count ? "input" : "\(real) input, \(count - real) padding"
                return "the last " + (count == 1 ? one : "\(count) \(many)") + " (\(what))"
            }
            var arithmetic: [String] = [], drops: [String] = []
            if height == width && uncovered.height == uncovered.width && padding.height == padding.width
                && extent.height == extent.width && stride.height == stride.width {
                arithmetic.append(excess(height, padding.height, extent.height, stride.height))
                drops.append(dropped(uncovered.height, input.height, "row and column", "rows and columns"))
            } else {
                if uncovered.height > 0 {
                    arithmetic.append("height " + excess(height, padding.height, extent.height, stride.height))
                    drops.append(dropped(uncovered.height, input.height, "row", "rows"))
                }
                if uncovered.width > 0 {
                    arithmetic.append("width " + excess(width, padding.width, extent.width, stride.width))
                    drops.append(dropped(uncovered.width, input.width, "column", "columns"))
                }
            }
            return "\(Self.marker) \(row.name): \(arithmetic.joined(separator: ", ")); PyTorch floors the output size "
                + "and drops " + drops.joined(separator: " and ")
        }
    }

    func table() -> String {
        let rows = [Self.header] + cells
        let widths = Self.header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.indices.map { column in
                Self.numeric.contains(column) ? Self.padLeft(cells[column], widths[column])
                    : Self.padRight(cells[column], widths[column])
            }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
        var out = title + "\n\n" + line(Self.header) + "\n"
        out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n"
        for row in cells { out += line(row) + "\n" }
        out += "\n"
        let labelWidth = totals.map(\.0.count).max() ?? 0, valueWidth = totals.map(\.1.count).max() ?? 0
        for (label, value, explanation) in totals {
            out += Self.padRight(label, labelWidth) + "  " + Self.padLeft(value, valueWidth) + "  " + explanation + "\n"
        }
        out += "\n" + (notes + footnotes).map { $0 + "\n" }.joined()
        return out
    }

    func markdown() -> String {
        var out = "### \(title)\n\n"
        out += "| " + Self.header.joined(separator: " | ") + " |\n"
        out += "|" + Self.header.indices.map { Self.numeric.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for row in cells { out += "| " + row.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        out += "\n"
        for (label, value, explanation) in totals { out += "- **\(label)**: \(value) (\(explanation))\n" }
        out += "\n" + (notes + footnotes).map { $0 + "\n\n" }.joined()
        return out
    }

    func json() -> String {
        JSONLines.document(SummaryDocument(summary: summary, classes: classes, notes: notes + footnotes))
    }

    // Number formatting, independent of the locale.

    /// 1234567 → "1,234,567"
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// Bytes in binary units with one decimal: "12.3 MiB".
    static func bytes(_ value: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value), unit = 0
        while amount >= 1024 && unit < units.count - 1 { amount /= 1024; unit += 1 }
        return unit == 0 ? "\(value) bytes" : String(format: "%.1f", amount) + " " + units[unit]
    }

    /// 15470264320 → "15.47 G"
    static func scaled(_ value: Int) -> String {
        let units = ["", " k", " M", " G", " T"]
        var amount = Double(value), unit = 0
        while amount >= 1000 && unit < units.count - 1 { amount /= 1000; unit += 1 }
        return unit == 0 ? "\(value)" : String(format: "%.2f", amount) + units[unit]
    }

    static func padLeft(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func padRight(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}

/// `summary --format json`: the model, one entry per layer, the totals and the notes.
struct SummaryDocument: Encodable {
    /// [height, width], or null.
    struct Pair: Encodable {
        var size: Size2D?

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            if let size { try container.encode([size.height, size.width]) } else { try container.encodeNil() }
        }
    }

    struct Row: Encodable {
        var name, path, kind: String
        var inputShape, outputShape: [Int]
        var windowExtent, windowStride, padding, receptiveField, jump, uncovered, uncoveredInput: Pair
        var activations, activationBytes, weights, biases, parameters, macs: Int
        var allocatesOutput, tilesInput: Bool

        enum CodingKeys: String, CodingKey {
            case name, path, kind, inputShape = "input_shape", outputShape = "output_shape"
            case windowExtent = "window_extent"
            case windowStride = "window_stride", padding, receptiveField = "receptive_field", jump, uncovered
            case uncoveredInput = "uncovered_input", activations, activationBytes = "activation_bytes", weights, biases
            case parameters, macs, allocatesOutput = "allocates_output", tilesInput = "tiles_input"
        }
    }

    struct Totals: Encodable {
        var parameters, weights, biases, macs, inputActivations, forwardActivations, forwardActivationBytes: Int
        var trainingActivations, trainingActivationBytes, fixedTrainingValues, fixedTrainingBytes: Int

        enum CodingKeys: String, CodingKey {
            case parameters, weights, biases, macs, inputActivations = "input_activations"
            case forwardActivations = "forward_activations", forwardActivationBytes = "forward_activation_bytes"
            case trainingActivations = "training_activations", trainingActivationBytes = "training_activation_bytes"
            case fixedTrainingValues = "fixed_training_values", fixedTrainingBytes = "fixed_training_bytes"
        }
    }

    var model: String
    var inputShape: [Int]
    var classes: Int
    var bytesPerValue: Int
    var rows: [Row]
    var totals: Totals
    var notes: [String]

    enum CodingKeys: String, CodingKey {
        case model, inputShape = "input_shape", classes, bytesPerValue = "bytes_per_value", rows, totals, notes
    }

    init(summary s: ModelSummary, classes: Int, notes: [String]) {
        let b = ModelSummary.bytesPerValue
        (model, inputShape, self.classes, bytesPerValue, self.notes) = (s.name, s.inputShape, classes, b, notes)
        rows = s.rows.map { row in
            Row(name: row.name, path: row.path, kind: row.kind, inputShape: row.inputShape,
                outputShape: row.outputShape,
                windowExtent: Pair(size: row.windowExtent), windowStride: Pair(size: row.windowStride),
                padding: Pair(size: row.padding), receptiveField: Pair(size: row.receptiveField),
                jump: Pair(size: row.jump),
                uncovered: Pair(size: row.uncovered), uncoveredInput: Pair(size: row.uncoveredInput),
                activations: row.activations, activationBytes: row.activationBytes, weights: row.weights,
                biases: row.biases, parameters: row.parameters, macs: row.multiplyAccumulates,
                allocatesOutput: row.allocatesOutput, tilesInput: row.uncovered == nil)
        }
        totals = Totals(parameters: s.parameters, weights: s.weights, biases: s.biases, macs: s.multiplyAccumulates,
                        inputActivations: s.inputActivations, forwardActivations: s.forwardActivations,
                        forwardActivationBytes: s.forwardActivations * b, trainingActivations: s.trainingActivations,
                        trainingActivationBytes: s.trainingActivations * b, fixedTrainingValues: s.fixedTrainingValues,
                        fixedTrainingBytes: s.fixedTrainingValues * b)
    }
}
