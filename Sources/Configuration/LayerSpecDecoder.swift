import Foundation
import Yams

/// Reads `model.layers` from YAML, each layer with its line for errors.
struct LayerSpecDecoder {
    let source: String

    func error(_ node: Node, _ message: String) -> ConfigError {
        ConfigError(source: source, line: node.mark?.line, message: message)
    }

    func layers(_ node: Node, path: String) throws -> [LayerSpec] {
        guard case .sequence(let sequence) = node else {
            throw error(node, "'\(path)' must be a list of layers, got \(ConfigNodes.kind(of: node))")
        }
        return try sequence.enumerated().map { try layer($0.element, path: "\(path)[\($0.offset)]") }
    }

    /// `relu`, or `conv2d: {out: 16, kernel: 3}` (a one-key mapping of kind to arguments).
    func layer(_ node: Node, path: String) throws -> LayerSpec {
        let kindNode: Node, argumentsNode: Node?
        switch node {
        case .scalar(let scalar):
            kindNode = node
            argumentsNode = nil
            _ = scalar
        case .mapping(let mapping) where mapping.count == 1:
            kindNode = mapping.first!.key
            argumentsNode = ConfigNodes.isNull(mapping.first!.value) ? nil : mapping.first!.value
        default:
            throw error(node, "'\(path)' must be a layer name such as relu, or one mapping such as "
                + "{conv2d: {out: 16, kernel: 3}}, got \(ConfigNodes.kind(of: node))")
        }
        let kind = (kindNode.scalar?.string ?? "").lowercased()
        guard let allowed = LayerSpec.argumentNames[kind] else {
            let known = LayerSpec.argumentNames.keys.sorted()
            let suggestion = ConfigSpelling.closest(to: kind, among: Set(known)).map { " (did you mean '\($0)'?)" } ?? ""
            throw error(kindNode, "'\(path)': unknown layer '\(kindNode.scalar?.string ?? "?")'\(suggestion); "
                + "known layers: \(known.joined(separator: ", "))")
        }
        var spec = LayerSpec(kind: kind, source: source, line: node.mark?.line)
        guard let argumentsNode else { return spec }
        guard case .mapping(let mapping) = argumentsNode else {
            throw error(argumentsNode, "'\(path)' (\(kind)) arguments must be a mapping such as {out: 16}, "
                + "got \(ConfigNodes.kind(of: argumentsNode))")
        }
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            guard allowed.contains(key) else {
                let suggestion = ConfigSpelling.closest(to: key, among: Set(allowed)).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(keyNode, "'\(path)' (\(kind)): unknown argument '\(key)'\(suggestion); "
                    + (allowed.isEmpty ? "\(kind) takes none" : "known: \(allowed.joined(separator: ", "))"))
            }
            switch key {
            case "layers": spec.layers = try layers(value, path: "\(path).layers")
            case "shortcut": spec.shortcut = try layers(value, path: "\(path).shortcut")
            case "branches":
                guard case .sequence(let branches) = value else {
                    throw error(value, "'\(path).branches' must be a list of layer lists, got \(ConfigNodes.kind(of: value))")
                }
                spec.branches = try branches.enumerated().map { try layers($0.element, path: "\(path).branches[\($0.offset)]") }
            default: spec.arguments[key] = try argument(value, path: "\(path).\(key)")
            }
        }
        return spec
    }

    func argument(_ node: Node, path: String) throws -> LayerSpec.Argument {
        switch node {
        case .scalar(let scalar) where scalar.style == .plain:
            let text = scalar.string.replacingOccurrences(of: "_", with: "")
            if let value = Double(text), value.isFinite { return .number(value) }
            if let flag = ["true": true, "false": false][text.lowercased()] { return .flag(flag) }
            return .word(scalar.string)
        case .scalar(let scalar):
            return .word(scalar.string)
        case .sequence(let items) where items.count == 2:
            let values = items.compactMap { $0.scalar.flatMap { Int($0.string) } }
            if values.count == 2 { return .pair(values[0], values[1]) }
        default: break
        }
        throw error(node, "'\(path)' must be a number, true/false, a name or a [height, width] pair, got \(ConfigNodes.kind(of: node))")
    }
}

extension LayerSpec {
    /// YAML flow text that `LayerSpecDecoder` reads back to an equal spec.
    var flowYAML: String {
        func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)" }
        func list(_ specs: [LayerSpec]) -> String { "[" + specs.map(\.flowYAML).joined(separator: ", ") + "]" }
        var parts: [String] = arguments.keys.sorted().map { key in
            switch arguments[key]! {
            case .number(let value): return "\(key): \(number(value))"
            case .pair(let a, let b): return "\(key): [\(a), \(b)]"
            case .flag(let flag): return "\(key): \(flag)"
            case .word(let word):
                let escaped = word.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"")
                return "\(key): \"\(escaped)\""
            }
        }
        if kind == "residual" { parts.append("layers: " + list(layers)) }
        if let shortcut { parts.append("shortcut: " + list(shortcut)) }
        if kind == "concat" { parts.append("branches: [" + branches.map(list).joined(separator: ", ") + "]") }
        return parts.isEmpty ? kind : "{\(kind): {\(parts.joined(separator: ", "))}}"
    }
}
