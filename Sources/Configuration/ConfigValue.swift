import Yams

/// A value a config key can hold: how it reads from a YAML node, how it is written back,
/// and how the key table names its type. Every key's type conforms, so the parser, the
/// resolved config.yaml and `--set key=value` all go through the same two functions.
public protocol ConfigValue: Equatable, Sendable {
    /// The type as the key table and error messages name it ("integer", "true or false").
    static var typeName: String { get }
    /// Reads `node`; throws `ConfigValueMismatch` saying what was expected and what was found.
    static func decode(_ node: Node) throws -> Self
    /// The value as a YAML node that `decode` reads back to the same value.
    var yamlNode: Node { get }
}

/// A node that does not hold a value of the key's type; the parser adds the key and line.
public struct ConfigValueMismatch: Error {
    public var message: String
    /// The line of the offending node when it is not the value's own (an item of a list).
    public var line: Int?

    init(expected: String, got node: Node) {
        message = "must be \(expected), got \(ConfigNodes.kind(of: node))"
    }

    init(message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }
}

/// A choice among named cases (`lr_schedule.name: cosine`): the allowed values and the
/// "must be one of …" message come from the enum's cases.
public protocol ConfigChoice: ConfigValue, CaseIterable, RawRepresentable where RawValue == String {}

extension ConfigChoice {
    public static var allowedValues: [String] { allCases.map(\.rawValue) }
    public static var typeName: String { allowedValues.joined(separator: " | ") }

    public static func decode(_ node: Node) throws -> Self {
        guard let scalar = node.scalar, let value = Self(rawValue: scalar.string) else {
            let names = allowedValues
            let list = names.count == 2 ? "\(names[0]) or \(names[1])"
                : names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
            let found = node.scalar.map { "'\($0.string)'" } ?? ConfigNodes.kind(of: node)
            throw ConfigValueMismatch(message: "must be \(list), got \(found)")
        }
        return value
    }

    public var yamlNode: Node { Node(rawValue, Tag(.str), .plain) }
}

extension Int: ConfigValue {
    public static var typeName: String { "integer" }

    public static func decode(_ node: Node) throws -> Int {
        guard let scalar = node.scalar, scalar.style == .plain,
              let number = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            throw ConfigValueMismatch(expected: "an integer", got: node)
        }
        return number
    }

    public var yamlNode: Node { Node(String(self), Tag(.int), .plain) }
}

/// Seeds: a non-negative integer over UInt64's whole range, so any `--seed` written to a
/// run's config.yaml reads back.
extension UInt64: ConfigValue {
    public static var typeName: String { "integer ≥ 0" }

    public static func decode(_ node: Node) throws -> UInt64 {
        let text = node.scalar.map { $0.string.replacingOccurrences(of: "_", with: "") } ?? ""
        guard let scalar = node.scalar, scalar.style == .plain, UInt64(text) != nil || Int(text) != nil else {
            throw ConfigValueMismatch(expected: "an integer", got: node)
        }
        guard let number = UInt64(text) else {
            throw ConfigValueMismatch(message: "must be a non-negative integer, got \(scalar.string)")
        }
        return number
    }

    public var yamlNode: Node { Node(String(self), Tag(.int), .plain) }
}

/// Finite numbers, including YAML 1.2 forms such as `5e-4`; written in Swift's shortest
/// round-trip form, so a resolved config reads back bit for bit.
extension Double: ConfigValue {
    public static var typeName: String { "number" }

    public static func decode(_ node: Node) throws -> Double {
        guard let scalar = node.scalar, scalar.style == .plain,
              let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            throw ConfigValueMismatch(expected: "a number", got: node)
        }
        return value
    }

    public var yamlNode: Node {
        // Whole numbers keep a ".0" so that they read as numbers in every YAML tool.
        let text = self == rounded() && Swift.abs(self) < 1e15 ? String(format: "%.1f", self) : description
        return Node(text, Tag(.float), .plain)
    }
}

extension Bool: ConfigValue {
    public static var typeName: String { "true or false" }

    public static func decode(_ node: Node) throws -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain,
              let flag = ["true": true, "false": false, "yes": true, "no": false][scalar.string.lowercased()] else {
            throw ConfigValueMismatch(expected: "true or false", got: node)
        }
        return flag
    }

    public var yamlNode: Node { Node(self ? "true" : "false", Tag(.bool), .plain) }
}

extension String: ConfigValue {
    public static var typeName: String { "text" }

    public static func decode(_ node: Node) throws -> String {
        guard let scalar = node.scalar else { throw ConfigValueMismatch(expected: "a string", got: node) }
        return scalar.string
    }

    /// Double-quoted, so that any path or name (numbers, `null`, tabs, newlines) reads back the same.
    public var yamlNode: Node { Node(self, Tag(.str), .doubleQuoted) }
}

extension Array: ConfigValue where Element: ConfigValue {
    public static var typeName: String { "list of \(Element.typeName)s" }

    public static func decode(_ node: Node) throws -> [Element] {
        guard case .sequence(let sequence) = node else {
            let example = Element.self == Int.self ? "[32000, 48000]" : "[0.5]"
            throw ConfigValueMismatch(expected: "a list of \(Element.typeName)s such as \(example)", got: node)
        }
        return try sequence.map { item in
            do {
                return try Element.decode(item)
            } catch is ConfigValueMismatch {
                let found = ConfigNodes.kind(of: item)
                throw ConfigValueMismatch(message: "must be a list of \(Element.typeName)s, got \(found) in it",
                                          line: item.mark?.line)
            }
        }
    }

    public var yamlNode: Node { Node(map(\.yamlNode), Tag(.seq), .flow) }
}

/// `null` (or a missing key) is nil: "not set", the key's documented fallback applies.
extension Optional: ConfigValue where Wrapped: ConfigValue {
    public static var typeName: String { Wrapped.typeName + " or null" }

    public static func decode(_ node: Node) throws -> Wrapped? {
        ConfigNodes.isNull(node) ? nil : try Wrapped.decode(node)
    }

    public var yamlNode: Node { map(\.yamlNode) ?? Node("null", Tag(.null), .plain) }
}

/// Facts about YAML nodes shared by the parser and the value types.
enum ConfigNodes {
    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "null", "~", "Null", "NULL"].contains(scalar.string)
    }

    /// What a node holds, for "got …" in messages.
    static func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return "string \"\(scalar.string)\"" }
            if Double(scalar.string) != nil { return "number \(scalar.string)" }
            if ["true", "false"].contains(scalar.string.lowercased()) { return "boolean \(scalar.string)" }
            return "string \"\(scalar.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
