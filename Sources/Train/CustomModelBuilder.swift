import Configuration
import NN

/// Builds a `Model` from `model.layers`, inferring each layer's input channels or features
/// from the shape before it. Every problem is a `ConfigError` at the layer's config line,
/// naming it by its state-dict path and kind: `layer 5 (conv2d): expects 64 input channels, got 32`.
/// Top-level layers are named 0, 1, 2 … as in torch.nn.Sequential, nested ones by path
/// (`4.1.weight` for the second layer of a residual block at index 4).
enum CustomModelBuilder {
    static func build(name: String, layers specs: [LayerSpec], inputShape: [Int], classes: Int) throws -> Model {
        var shape = [1] + inputShape
        let children = try chain(specs, shape: &shape, prefix: "", classes: classes, isTopLevel: true)
        let network = Sequential(children)
        guard shape == [1, classes] else {
            let last = specs.last
            throw ConfigError(source: last?.source ?? "model.layers", line: last?.line,
                              message: "model.layers end with output \(Array(shape.dropFirst())) per sample; "
                                  + "the last layer must give [\(classes)] class scores (add flatten and linear)")
        }
        do {
            return try Model(name: name, inputShape: inputShape, classes: classes, network: network)
        } catch {
            throw ConfigError(source: "model.layers", line: nil, message: "\(error)")
        }
    }

    /// Builds `specs` in order, advancing `shape` (batch first) through each.
    static func chain(_ specs: [LayerSpec], shape: inout [Int], prefix: String, classes: Int,
                      isTopLevel: Bool = false) throws -> [(name: String, layer: Layer)] {
        var result: [(name: String, layer: Layer)] = []
        let lastLinear = isTopLevel ? specs.lastIndex { $0.kind == "linear" } : nil
        for (index, spec) in specs.enumerated() {
            let path = prefix + String(index)
            let layer = try make(spec, input: shape, path: path, classes: classes, isFinalLinear: index == lastLinear)
            do {
                shape = try layer.outputShape(for: shape)
            } catch NNError.shapeMismatch(_, let message) {
                throw failure(spec, path, message)
            } catch {
                throw failure(spec, path, "\(error)")
            }
            result.append((path.split(separator: ".").last.map(String.init) ?? path, layer))
        }
        return result
    }

    /// A layer's weights (with their gradients and momentum) must fit in memory before they are allocated.
    static func checkWeights(_ count: Double, _ fail: (String) -> ConfigError) throws {
        let bytes = count * 3 * 4
        guard bytes > MemoryBudget.available else { return }
        throw fail(String(format: "%.3g", count) + " weights need \(MemoryBudget.text(bytes)) with their gradients and "
            + "momentum; this machine has \(MemoryBudget.text(MemoryBudget.available))")
    }

    static func failure(_ spec: LayerSpec, _ path: String, _ message: String) -> ConfigError {
        ConfigError(source: spec.source ?? "model.layers", line: spec.line, message: "layer \(path) (\(spec.kind)): \(message)")
    }

    static func make(_ spec: LayerSpec, input: [Int], path: String, classes: Int, isFinalLinear: Bool) throws -> Layer {
        let args = LayerArguments(spec: spec, path: path, input: input)
        func fail(_ message: String) -> ConfigError { args.fail(message) }

        switch spec.kind {
        case "conv2d":
            let inChannels = try args.channels("conv2d")
            try args.checkGiven(inChannels, "channels")
            let groups = try args.integer("groups") ?? 1
            let out = try args.required("out")
            guard groups > 0, inChannels % groups == 0, out % groups == 0 else {
                throw fail("channels \(inChannels) → \(out) do not divide into \(groups) groups")
            }
            guard let kernel = try args.positiveSize("kernel") else { throw fail("needs 'kernel'") }
            try checkWeights(Double(out) * Double(inChannels / groups) * Double(kernel.height) * Double(kernel.width),
                             fail)
            return Conv2d(inChannels, out, kernelSize: kernel, stride: try args.positiveSize("stride") ?? 1,
                          padding: try args.size("padding") ?? 0, dilation: try args.positiveSize("dilation") ?? 1,
                          groups: groups,
                          bias: try args.flag("bias", default: true))
        case "linear":
            guard input.count == 2 else { throw fail("expects a 2-D input [N, features], got \(input) (add flatten before it)") }
            try args.checkGiven(input[1], "features")
            let out = isFinalLinear && spec.arguments["out"] == nil ? classes : try args.required("out")
            try checkWeights(Double(input[1]) * Double(out), fail)
            return Linear(input[1], out, bias: try args.flag("bias", default: true))
        case "maxpool2d":
            guard let kernel = try args.positiveSize("kernel") else { throw fail("needs 'kernel'") }
            return MaxPool2d(kernelSize: kernel, stride: try args.positiveSize("stride"), padding: try args.size("padding") ?? 0,
                             ceilMode: try args.flag("ceil_mode", default: false))
        case "avgpool2d":
            guard let kernel = try args.positiveSize("kernel") else { throw fail("needs 'kernel'") }
            return AvgPool2d(kernelSize: kernel, stride: try args.positiveSize("stride"), padding: try args.size("padding") ?? 0,
                             ceilMode: try args.flag("ceil_mode", default: false),
                             countIncludePad: try args.flag("count_include_pad", default: true))
        case "adaptiveavgpool2d":
            return AdaptiveAvgPool2d(outputSize: try args.positiveSize("output") ?? 1)
        case "batchnorm2d":
            return BatchNorm2d(try args.channels("batchnorm2d"), eps: try args.positiveFloat("eps", default: 1e-5),
                               momentum: try args.float("momentum", default: 0.1))
        case "dropout":
            let p = try args.float("p", default: 0.5)
            guard (0..<1).contains(p) else { throw fail("'p' must be in [0, 1), got \(p)") }
            return Dropout(p: p)
        case "localresponsenorm":
            return LocalResponseNorm(size: try args.required("size"), alpha: try args.float("alpha", default: 1e-4),
                                     beta: try args.float("beta", default: 0.75), k: try args.float("k", default: 1))
        case "relu": return ReLU()
        case "leakyrelu": return LeakyReLU(negativeSlope: try args.float("negative_slope", default: 0.01))
        case "elu": return ELU(alpha: try args.float("alpha", default: 1))
        case "sigmoid": return Sigmoid()
        case "tanh": return Tanh()
        case "maxout": return Maxout(pieces: try args.required("pieces"))
        case "flatten": return Flatten()
        case "residual": return try makeResidual(spec, input: input, path: path, classes: classes)
        case "concat": return try makeConcat(spec, input: input, path: path, classes: classes)
        default:
            throw fail("unknown layer kind")
        }
    }

    /// `residual`: the main path, an optional projection shortcut, the activation after the sum.
    static func makeResidual(_ spec: LayerSpec, input: [Int], path: String, classes: Int) throws -> Layer {
        func fail(_ message: String) -> ConfigError { failure(spec, path, message) }
        guard !spec.layers.isEmpty else { throw fail("needs 'layers' (the main path)") }
        var mainShape = input, shortcutShape = input
        let main = try chain(spec.layers, shape: &mainShape, prefix: path + ".", classes: classes)
        var shortcut: (name: String, layer: Layer)?
        if let specs = spec.shortcut {
            shortcut = ("shortcut", Sequential(try chain(specs, shape: &shortcutShape, prefix: path + ".shortcut.", classes: classes)))
        }
        guard mainShape == shortcutShape else {
            throw fail("main path gives \(Array(mainShape.dropFirst())) but the "
                + (spec.shortcut == nil ? "identity shortcut passes \(Array(input.dropFirst())); add a projection shortcut"
                                        : "shortcut gives \(Array(shortcutShape.dropFirst()))"))
        }
        let activation: Layer?
        switch spec.arguments["activation"] {
        case nil, .word("relu")?: activation = ReLU()
        case .word("none")?: activation = nil
        case let other?: throw fail("'activation' must be relu or none, got \(other)")
        }
        return Residual(main: main, shortcut: shortcut, activation: activation)
    }

    /// `concat`: parallel branches over the same input, joined along the channels.
    static func makeConcat(_ spec: LayerSpec, input: [Int], path: String, classes: Int) throws -> Layer {
        func fail(_ message: String) -> ConfigError { failure(spec, path, message) }
        guard !spec.branches.isEmpty else { throw fail("needs 'branches'") }
        var branches: [(name: String, layer: Layer)] = []
        for (index, branch) in spec.branches.enumerated() {
            var branchShape = input
            let name = "branch\(index + 1)"
            branches.append((name, Sequential(try chain(branch, shape: &branchShape, prefix: "\(path).\(name).", classes: classes))))
        }
        return Concat(branches)
    }
}
