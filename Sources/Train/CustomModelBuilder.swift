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

    static func failure(_ spec: LayerSpec, _ path: String, _ message: String) -> ConfigError {
        ConfigError(source: spec.source ?? "model.layers", line: spec.line, message: "layer \(path) (\(spec.kind)): \(message)")
    }

    static func make(_ spec: LayerSpec, input: [Int], path: String, classes: Int, isFinalLinear: Bool) throws -> Layer {
        func fail(_ message: String) -> ConfigError { failure(spec, path, message) }
        func number(_ key: String) throws -> Double? {
            switch spec.arguments[key] {
            case nil: return nil
            case .number(let value)?: return value
            case let other?: throw fail("'\(key)' must be a number, got \(other)")
            }
        }
        func integer(_ key: String) throws -> Int? {
            guard let value = try number(key) else { return nil }
            guard value == value.rounded(), value >= 0, value < 1e9 else { throw fail("'\(key)' must be a whole number ≥ 0, got \(value)") }
            return Int(value)
        }
        func required(_ key: String) throws -> Int {
            guard let value = try integer(key) else { throw fail("needs '\(key)'") }
            guard value > 0 else { throw fail("'\(key)' must be positive, got \(value)") }
            return value
        }
        func size(_ key: String) throws -> Size2D? {
            switch spec.arguments[key] {
            case nil: return nil
            case .pair(let h, let w)?: return Size2D(h, w)
            default: return try integer(key).map { Size2D($0) }
            }
        }
        func flag(_ key: String, default value: Bool) throws -> Bool {
            switch spec.arguments[key] {
            case nil: return value
            case .flag(let flag)?: return flag
            case let other?: throw fail("'\(key)' must be true or false, got \(other)")
            }
        }
        func float(_ key: String, default value: Float) throws -> Float { try number(key).map(Float.init) ?? value }
        func channels(_ what: String) throws -> Int {
            guard input.count == 4 else { throw fail("expects a 4-D input [N, C, H, W], got \(input) (\(what))") }
            return input[1]
        }
        func checkGiven(_ actual: Int, _ unit: String) throws {
            if let given = try integer("in"), given != actual { throw fail("expects \(given) input \(unit), got \(actual)") }
        }

        switch spec.kind {
        case "conv2d":
            let inChannels = try channels("conv2d")
            try checkGiven(inChannels, "channels")
            let groups = try integer("groups") ?? 1
            let out = try required("out")
            guard groups > 0, inChannels % groups == 0, out % groups == 0 else {
                throw fail("channels \(inChannels) → \(out) do not divide into \(groups) groups")
            }
            guard let kernel = try size("kernel") else { throw fail("needs 'kernel'") }
            return Conv2d(inChannels, out, kernelSize: kernel, stride: try size("stride") ?? 1, padding: try size("padding") ?? 0,
                          dilation: try size("dilation") ?? 1, groups: groups, bias: try flag("bias", default: true))
        case "linear":
            guard input.count == 2 else { throw fail("expects a 2-D input [N, features], got \(input) (add flatten before it)") }
            try checkGiven(input[1], "features")
            let out = isFinalLinear && spec.arguments["out"] == nil ? classes : try required("out")
            return Linear(input[1], out, bias: try flag("bias", default: true))
        case "maxpool2d":
            guard let kernel = try size("kernel") else { throw fail("needs 'kernel'") }
            return MaxPool2d(kernelSize: kernel, stride: try size("stride"), padding: try size("padding") ?? 0,
                             ceilMode: try flag("ceil_mode", default: false))
        case "avgpool2d":
            guard let kernel = try size("kernel") else { throw fail("needs 'kernel'") }
            return AvgPool2d(kernelSize: kernel, stride: try size("stride"), padding: try size("padding") ?? 0,
                             ceilMode: try flag("ceil_mode", default: false),
                             countIncludePad: try flag("count_include_pad", default: true))
        case "adaptiveavgpool2d":
            return AdaptiveAvgPool2d(outputSize: try size("output") ?? 1)
        case "batchnorm2d":
            return BatchNorm2d(try channels("batchnorm2d"), eps: try float("eps", default: 1e-5),
                               momentum: try float("momentum", default: 0.1))
        case "dropout":
            let p = try float("p", default: 0.5)
            guard (0..<1).contains(p) else { throw fail("'p' must be in [0, 1), got \(p)") }
            return Dropout(p: p)
        case "localresponsenorm":
            return LocalResponseNorm(size: try required("size"), alpha: try float("alpha", default: 1e-4),
                                     beta: try float("beta", default: 0.75), k: try float("k", default: 1))
        case "relu": return ReLU()
        case "leakyrelu": return LeakyReLU(negativeSlope: try float("negative_slope", default: 0.01))
        case "elu": return ELU(alpha: try float("alpha", default: 1))
        case "sigmoid": return Sigmoid()
        case "tanh": return Tanh()
        case "maxout": return Maxout(pieces: try required("pieces"))
        case "flatten": return Flatten()
        case "residual":
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
        case "concat":
            guard !spec.branches.isEmpty else { throw fail("needs 'branches'") }
            var branches: [(name: String, layer: Layer)] = []
            for (index, branch) in spec.branches.enumerated() {
                var branchShape = input
                let name = "branch\(index + 1)"
                branches.append((name, Sequential(try chain(branch, shape: &branchShape, prefix: "\(path).\(name).", classes: classes))))
            }
            return Concat(branches)
        default:
            throw fail("unknown layer kind")
        }
    }
}
