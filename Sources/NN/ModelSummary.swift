/// A network as a table, the way CS231n reads VGG: one row per leaf layer (and per channel
/// concatenation, which PyTorch materialises) with its output
/// (per image), parameters, multiply-accumulates and receptive field, then totals for
/// parameters, compute and memory. Containers are walked by their structure; the rows are
/// named by dotted PyTorch paths ("features.28").
///
/// Activation memory counts the input image and every layer output PyTorch materialises
/// (convolutions, linear layers, pooling, batch norm, concatenations), not in-place ReLUs, views
/// (`Layer.allocatesOutput`) or a residual block's in-place sum.
public struct ModelSummary: Equatable, Sendable {
    /// Float32.
    public static let bytesPerValue = 4

    public struct Row: Equatable, Sendable {
        /// Dotted PyTorch path ("features.28").
        public var path: String
        /// PyTorch class name ("Conv2d").
        public var kind: String
        /// Output shape of one image (no batch dimension).
        public var outputShape: [Int]
        /// False for in-place layers and views: their output adds no activation memory.
        public var allocatesOutput: Bool
        /// Parameter values other than biases (batch norm's scale counts as a weight).
        public var weights: Int
        public var biases: Int
        /// Multiply-accumulates for one image (convolutions and linear layers).
        public var multiplyAccumulates: Int
        /// Input pixels one output position sees (height, width); nil once the output has no
        /// spatial dimensions (after flattening).
        public var receptiveField: Size2D?
        /// Input pixels between neighbouring output positions (effective stride); nil as above.
        public var jump: Size2D?
        /// Rows (height) and columns (width) of the padded input that no window reaches because
        /// the stride does not tile it: PyTorch floors the output size and drops them. Nil when
        /// the layer tiles its input (or slides no window).
        public var uncovered: Size2D?
        /// The layer's padding on each side, for telling dropped padding from dropped input.
        public var padding: Size2D
        /// Input shape of one image.
        public var inputShape: [Int]
        /// The window the layer slides (dilated kernel extent and stride); nil for position-wise layers.
        public var windowExtent: Size2D?
        public var windowStride: Size2D?

        public init(path: String, kind: String, inputShape: [Int], outputShape: [Int], allocatesOutput: Bool,
                    weights: Int, biases: Int, multiplyAccumulates: Int, receptiveField: Size2D?, jump: Size2D?,
                    windowExtent: Size2D? = nil, windowStride: Size2D? = nil, uncovered: Size2D? = nil,
                    padding: Size2D = 0) {
            self.inputShape = inputShape
            self.windowExtent = windowExtent
            self.windowStride = windowStride
            self.path = path
            self.kind = kind
            self.outputShape = outputShape
            self.allocatesOutput = allocatesOutput
            self.weights = weights
            self.biases = biases
            self.multiplyAccumulates = multiplyAccumulates
            self.receptiveField = receptiveField
            self.jump = jump
            self.uncovered = uncovered
            self.padding = padding
        }

        /// "features.28 Conv2d"
        public var name: String { path.isEmpty ? kind : "\(path) \(kind)" }
        public var activations: Int { outputShape.reduce(1, *) }
        public var activationBytes: Int { activations * ModelSummary.bytesPerValue }
        public var parameters: Int { weights + biases }
        /// Of the uncovered rows and columns, those holding input rather than padding.
        public var uncoveredInput: Size2D? {
            uncovered.map { Size2D(Swift.max(0, $0.height - padding.height), Swift.max(0, $0.width - padding.width)) }
        }
    }

    /// The model's name ("vgg16"), or empty for a bare layer.
    public var name: String
    /// Input shape of one image ([C, H, W]).
    public var inputShape: [Int]
    public var rows: [Row]

    /// Summarises `model` for its own input shape.
    public init(model: Model) throws {
        try self.init(network: model.network, inputShape: model.inputShape, name: model.name)
    }

    /// Summarises `network` for inputs of `inputShape` (one image, no batch dimension).
    public init(network: Layer, inputShape: [Int], name: String = "") throws {
        self.name = name
        self.inputShape = inputShape
        var walker = Walker()
        let spatial = inputShape.count == 3
        _ = try walker.walk(network, path: "", FieldState(shape: [1] + inputShape, receptiveField: 1, jump: 1,
                                                          spatial: spatial))
        rows = walker.rows
    }

    // Totals.

    public var weights: Int { rows.reduce(0) { $0 + $1.weights } }
    public var biases: Int { rows.reduce(0) { $0 + $1.biases } }
    public var parameters: Int { weights + biases }
    public var multiplyAccumulates: Int { rows.reduce(0) { $0 + $1.multiplyAccumulates } }
    public var inputActivations: Int { inputShape.reduce(1, *) }
    /// Values held for one image's forward pass: the input and every materialised layer output.
    public var forwardActivations: Int {
        rows.reduce(inputActivations) { $0 + ($1.allocatesOutput ? $1.activations : 0) }
    }
    /// Values one image costs in training: the activations and a gradient of each.
    public var trainingActivations: Int { 2 * forwardActivations }
    /// Values a training run holds whatever the batch: parameters, their gradients and SGD's momentum.
    public var fixedTrainingValues: Int { 3 * parameters }
    /// Rows whose stride does not tile their input.
    public var untiledRows: [Row] { rows.filter { $0.uncovered != nil } }
}

/// What the walker carries from layer to layer: the output shape (batch 1, batch first) and
/// the receptive field and jump of one output position, per axis.
struct FieldState {
    var shape: [Int]
    var receptiveField: Size2D
    var jump: Size2D
    /// False once the data has no [C, H, W] layout (flattened, or a non-image input).
    var spatial: Bool
}

/// Layers that pad their input before sliding a window (for the tiling check).
protocol PaddedWindow {
    var padding: Size2D { get }
}

extension Conv2d: PaddedWindow {}
extension MaxPool2d: PaddedWindow {}
extension AvgPool2d: PaddedWindow {}

private struct Walker {
    var rows: [ModelSummary.Row] = []

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "." + name }

    mutating func walk(_ layer: Layer, path: String, _ state: FieldState) throws -> FieldState {
        if let sequential = layer as? Sequential {
            return try chain(sequential.children, path: path, state)
        }
        if let concat = layer as? Concat {
            return try branches(concat, path: path, state)
        }
        if let residual = layer as? Residual {
            return try block(residual, path: path, state)
        }
        if layer.children.isEmpty {
            return try leaf(layer, path: path, state)
        }
        // A container of another kind: walked as a chain, which must agree with the container's own shape.
        let output = try chain(layer.children, path: path, state)
        let expected = try layer.outputShape(for: state.shape)
        guard output.shape == expected else {
            throw NNError.invalidArgument("summary cannot walk \(path.isEmpty ? layer.kind : path + " (" + layer.kind + ")"): "
                + "its children in order produce \(Array(output.shape.dropFirst())), the container \(Array(expected.dropFirst()))")
        }
        return output
    }

    mutating func chain(_ children: [(name: String, layer: Layer)], path: String, _ state: FieldState) throws -> FieldState {
        var state = state
        for child in children {
            state = try walk(child.layer, path: Walker.join(path, child.name), state)
        }
        return state
    }

    /// Every branch sees the same input; torch.cat then materialises the joined output, a row of its own.
    /// The receptive field is the widest branch's; the branches' jumps agree (equal output sizes).
    mutating func branches(_ concat: Concat, path: String, _ state: FieldState) throws -> FieldState {
        let outputs = try concat.branches.map { try walk($0.layer, path: Walker.join(path, $0.name), state) }
        let shape = try concat.outputShape(for: state.shape)
        let joined = FieldState(shape: shape, receptiveField: Walker.widest(outputs.map(\.receptiveField)),
                                jump: Walker.widest(outputs.map(\.jump)), spatial: state.spatial && shape.count == 4)
        rows.append(ModelSummary.Row(
            path: path, kind: concat.kind, inputShape: Array(state.shape.dropFirst()), outputShape: Array(shape.dropFirst()), allocatesOutput: concat.allocatesOutput,
            weights: 0, biases: 0, multiplyAccumulates: 0, receptiveField: joined.spatial ? joined.receptiveField : nil,
            jump: joined.spatial ? joined.jump : nil))
        return joined
    }

    /// Main chain, then the shortcut (as torchvision lists a block's modules), then the activation
    /// of their sum. The sum itself is PyTorch's in-place `out += identity`: no row, no memory.
    mutating func block(_ residual: Residual, path: String, _ state: FieldState) throws -> FieldState {
        let main = try chain(residual.mainLayers, path: path, state)
        let shortcut = try residual.shortcut.map { try walk($0.layer, path: Walker.join(path, $0.name), state) } ?? state
        guard main.shape == shortcut.shape else {
            _ = try residual.outputShape(for: state.shape)  // throws the block's own shape error
            throw NNError.shapeMismatch(layer: "\(path) (Residual)", message: "main path and shortcut disagree")
        }
        let sum = FieldState(shape: main.shape, receptiveField: Walker.widest([main.receptiveField, shortcut.receptiveField]),
                             jump: Walker.widest([main.jump, shortcut.jump]), spatial: main.spatial)
        guard let activation = residual.activation else { return sum }
        return try walk(activation, path: Walker.join(path, "activation"), sum)
    }

    static func widest(_ sizes: [Size2D]) -> Size2D {
        Size2D(sizes.map(\.height).max() ?? 1, sizes.map(\.width).max() ?? 1)
    }

    mutating func leaf(_ layer: Layer, path: String, _ state: FieldState) throws -> FieldState {
        let output: [Int]
        do {
            output = try layer.outputShape(for: state.shape)
        } catch NNError.shapeMismatch(_, let message) {
            throw NNError.shapeMismatch(layer: "\(path.isEmpty ? layer.kind : path) (\(layer.kind))", message: message)
        }
        var next = FieldState(shape: output, receptiveField: state.receptiveField, jump: state.jump,
                              spatial: state.spatial && output.count == 4)
        var uncovered: Size2D?
        var padding: Size2D = 0
        let window = layer.receptiveWindow(inputShape: state.shape)
        if let window {
            next.receptiveField = Size2D(state.receptiveField.height + (window.extent.height - 1) * state.jump.height,
                                         state.receptiveField.width + (window.extent.width - 1) * state.jump.width)
            next.jump = Size2D(state.jump.height * window.stride.height, state.jump.width * window.stride.width)
            if let padded = layer as? PaddedWindow, state.shape.count == 4, output.count == 4 {
                padding = padded.padding
                // Padded rows past the last window: (H + 2p − k) − (oH − 1)·s; 0 when the stride tiles,
                // negative in ceil mode (the last window hangs over the edge and nothing is dropped).
                let rows = state.shape[2] + 2 * padding.height - window.extent.height - (output[2] - 1) * window.stride.height
                let columns = state.shape[3] + 2 * padding.width - window.extent.width - (output[3] - 1) * window.stride.width
                if rows > 0 || columns > 0 { uncovered = Size2D(Swift.max(0, rows), Swift.max(0, columns)) }
            }
        }
        var weights = 0, biases = 0
        for (name, parameter) in layer.namedParameters() {
            if name == "bias" || name.hasSuffix(".bias") { biases += parameter.count } else { weights += parameter.count }
        }
        rows.append(ModelSummary.Row(
            path: path, kind: layer.kind, inputShape: Array(state.shape.dropFirst()), outputShape: Array(output.dropFirst()),
            allocatesOutput: layer.allocatesOutput, weights: weights, biases: biases,
            multiplyAccumulates: layer.multiplyAccumulates(inputShape: state.shape),
            receptiveField: next.spatial ? next.receptiveField : nil, jump: next.spatial ? next.jump : nil,
            windowExtent: window?.extent, windowStride: window?.stride, uncovered: uncovered, padding: padding))
        return next
    }
}
