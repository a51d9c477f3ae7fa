import Foundation
import Yams

/// What a key allows beyond its type: a minimum, a range, a ceiling. `failure` gives what completes
/// "must …" in errors ("be a positive integer", "lie in (0, 1]") for a value it refuses, nil for one
/// it allows; `summary` fills the key table.
public struct ValueRule<Value>: @unchecked Sendable {
    public let summary: String
    let failure: (Value) -> String?

    public init(summary: String, failure: @escaping (Value) -> String?) {
        self.summary = summary
        self.failure = failure
    }

    /// A rule from one condition and the requirement its message states.
    public init(requirement: String, summary: String, allows: @escaping (Value) -> Bool) {
        self.init(summary: summary) { allows($0) ? nil : requirement }
    }

    public static var any: ValueRule { ValueRule(summary: "") { _ in nil } }

    /// Both rules: the first one's message where it fails, else the second's.
    public func and(_ other: ValueRule) -> ValueRule {
        ValueRule(summary: [summary, other.summary].filter { !$0.isEmpty }.joined(separator: ", ")) {
            failure($0) ?? other.failure($0)
        }
    }
}

extension ValueRule where Value: Comparable {
    /// `value ≥ minimum`; `wording` as the message says it ("a positive integer", "0 (automatic) or more").
    public static func atLeast(_ minimum: Value, _ wording: String) -> ValueRule {
        ValueRule(requirement: "be " + wording, summary: "≥ \(bound(minimum))") { $0 >= minimum }
    }

    /// `value > minimum` ("positive").
    public static func above(_ minimum: Value, _ wording: String) -> ValueRule {
        ValueRule(requirement: "be " + wording, summary: "> \(bound(minimum))") { $0 > minimum }
    }

    /// `value ≤ maximum`: a ceiling far above any real run that keeps sizes and step counts from
    /// overflowing or allocating without end; `why` says what it guards.
    public static func atMost(_ maximum: Value, _ why: String) -> ValueRule {
        ValueRule(requirement: "be at most \(bound(maximum)) (\(why))", summary: "≤ \(bound(maximum))") {
            $0 <= maximum
        }
    }

    /// A bound as people write it: 1 rather than 1.0.
    static func bound(_ value: Value) -> String {
        let text = "\(value)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// Within bounds, each open or closed: `.within(0, 1, lowerOpen: true)` is (0, 1].
    public static func within(_ lower: Value, _ upper: Value, lowerOpen: Bool = false, upperOpen: Bool = false) -> ValueRule {
        let interval = (lowerOpen ? "(" : "[") + "\(bound(lower)), \(bound(upper))" + (upperOpen ? ")" : "]")
        return ValueRule(requirement: "lie in " + interval, summary: interval) {
            (lowerOpen ? $0 > lower : $0 >= lower) && (upperOpen ? $0 < upper : $0 <= upper)
        }
    }
}

/// One key of the YAML schema: where it lives, its type, default, allowed values and meaning,
/// and how to read, write and check it in a `TrainConfig`. `ConfigSchema.keys` lists them all;
/// parsing, validation, the resolved config.yaml, `--set` and the README's key table use only this.
public struct ConfigKey: @unchecked Sendable {
    /// Dotted path ("optimizer.lr").
    public let path: String
    public let typeName: String
    /// Allowed values or range ("≥ 1", "(0, 1]", the choices), "" for any value of the type.
    public let allowed: String
    /// One line for the key table.
    public let meaning: String
    /// The key's value in `config` as YAML.
    let read: (TrainConfig) -> Node
    /// Stores the value a node holds; throws `ConfigValueMismatch` (or a `ConfigError` with its own line).
    let store: (inout TrainConfig, Node, _ source: String) throws -> Void
    /// "must …, got …" when the value breaks the key's rule; nil when it is fine.
    let violation: (TrainConfig) -> String?

    /// Sets this key in `target` to its value in `source`.
    public func copy(from source: TrainConfig, into target: inout TrainConfig) throws {
        try store(&target, read(source), path)
    }

    /// The key's value in `config` as YAML text ("0.1", "[1, 2]").
    public func valueText(in config: TrainConfig) -> String { ConfigKey.text(of: read(config)) }

    /// The built-in default as YAML text.
    public var defaultText: String { ConfigKey.text(of: read(TrainConfig())) }

    /// A key of type `Value`.
    public static func key<Value: ConfigValue>(_ path: String, _ field: WritableKeyPath<TrainConfig, Value>,
                                               _ rule: ValueRule<Value>, _ meaning: String) -> ConfigKey {
        let allowed = (Value.self as? any ConfigChoice.Type).map { $0.allowedValues.joined(separator: ", ") } ?? rule.summary
        return ConfigKey(
            path: path, typeName: Value.typeName, allowed: allowed, meaning: meaning,
            read: { $0[keyPath: field].yamlNode },
            // `key: null` (or `key:` with nothing) leaves the default, as an absent key does.
            store: { config, node, _ in
                if !ConfigNodes.isNull(node) { config[keyPath: field] = try Value.decode(node) }
            },
            violation: { config in
                let value = config[keyPath: field]
                return rule.failure(value).map { "must \($0), got \(value)" }
            })
    }

    /// An optional key: null (or absent) means "not set"; the rule applies to set values.
    public static func key<Value: ConfigValue>(_ path: String, _ field: WritableKeyPath<TrainConfig, Value?>,
                                               _ rule: ValueRule<Value>, _ meaning: String) -> ConfigKey {
        let allowed = (Value.self as? any ConfigChoice.Type).map { $0.allowedValues.joined(separator: ", ") } ?? rule.summary
        return ConfigKey(
            path: path, typeName: Value?.typeName, allowed: allowed, meaning: meaning,
            read: { $0[keyPath: field].yamlNode },
            store: { config, node, _ in config[keyPath: field] = try Value?.decode(node) },
            violation: { config in
                guard let value = config[keyPath: field] else { return nil }
                return rule.failure(value).map { "must \($0), got \(value)" }
            })
    }

    /// A key that takes any value of its type.
    public static func key<Value: ConfigValue>(_ path: String, _ field: WritableKeyPath<TrainConfig, Value>,
                                               _ meaning: String) -> ConfigKey {
        key(path, field, .any, meaning)
    }

    public static func key<Value: ConfigValue>(_ path: String, _ field: WritableKeyPath<TrainConfig, Value?>,
                                               _ meaning: String) -> ConfigKey {
        key(path, field, ValueRule<Value>.any, meaning)
    }

    /// A key with its own reader and writer (`model.layers`).
    static func custom(_ path: String, typeName: String, _ meaning: String, read: @escaping (TrainConfig) -> Node,
                       store: @escaping (inout TrainConfig, Node, String) throws -> Void) -> ConfigKey {
        ConfigKey(path: path, typeName: typeName, allowed: "", meaning: meaning, read: read, store: store,
                  violation: { _ in nil })
    }

    /// A node as one line of YAML ("0.05", "[1, 2]", "null").
    static func text(of node: Node) -> String {
        if let scalar = node.scalar {
            return scalar.style == .doubleQuoted ? "\"\(scalar.string)\"" : scalar.string
        }
        let flow = (try? Yams.serialize(node: node))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return flow.isEmpty ? "[]" : flow
    }
}
