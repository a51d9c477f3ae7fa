import Yams

/// Reads one YAML mapping of the config, key by key, with the key path and line of
/// every value at hand for errors. Keys left unread at `finish()` are unknown keys.
struct ConfigMapping {
    let source: String
    /// Dotted path of this mapping ("" at the top level, "optimizer" below it).
    let path: String
    let line: Int?
    private let entries: [(key: String, value: Node, line: Int?)]
    private var consumed: Set<String> = []

    init(_ node: Node?, path: String, source: String) throws {
        self.source = source
        self.path = path
        line = node?.mark?.line
        switch node {
        case nil:
            entries = []
        case .scalar(let scalar)? where scalar.tag.description.hasSuffix(":null") || scalar.string.isEmpty
            || ["null", "~"].contains(scalar.string):
            entries = []
        case .mapping(let mapping)?:
            var seen: [(key: String, value: Node, line: Int?)] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else {
                    throw ConfigError(source: source, line: key.mark?.line,
                                      message: "keys of '\(path.isEmpty ? "the top level" : path)' must be plain names")
                }
                seen.append((name, value, key.mark?.line))
            }
            entries = seen
        case let other?:
            throw ConfigError(source: source, line: other.mark?.line,
                              message: "'\(path.isEmpty ? "the document" : path)' must be a mapping of keys to values, got \(ConfigMapping.kind(of: other))")
        }
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value under `key`, marking the key as known.
    mutating func node(_ key: String) -> (node: Node, line: Int?)? {
        consumed.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if ConfigMapping.isNull(entry.value) { return nil }
        return (entry.value, entry.value.mark?.line ?? entry.line)
    }

    func error(_ key: String, line: Int?, _ message: String) -> ConfigError {
        ConfigError(source: source, line: line ?? self.line, message: "'\(keyPath(key))' \(message)")
    }

    mutating func string(_ key: String, default value: String) throws -> String {
        try optionalString(key) ?? value
    }

    mutating func optionalString(_ key: String) throws -> String? {
        guard let (node, line) = node(key) else { return nil }
        guard let scalar = node.scalar else {
            throw error(key, line: line, "must be a string, got \(ConfigMapping.kind(of: node))")
        }
        return scalar.string
    }

    mutating func double(_ key: String, default value: Double) throws -> Double {
        guard let (node, line) = node(key) else { return value }
        return try ConfigMapping.number(node, orThrow: error(key, line: line, "must be a number, got \(ConfigMapping.kind(of: node))"))
    }

    mutating func int(_ key: String, default value: Int) throws -> Int {
        try optionalInt(key) ?? value
    }

    mutating func optionalInt(_ key: String) throws -> Int? {
        guard let (node, line) = node(key) else { return nil }
        guard let scalar = node.scalar, scalar.style == .plain,
              let number = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, line: line, "must be an integer, got \(ConfigMapping.kind(of: node))")
        }
        return number
    }

    /// A non-negative integer over UInt64's whole range (seeds), so any `--seed` written
    /// to a run's config.yaml reads back.
    mutating func unsigned(_ key: String, default value: UInt64) throws -> UInt64 {
        guard let (node, line) = node(key) else { return value }
        let text = node.scalar.map { $0.string.replacingOccurrences(of: "_", with: "") } ?? ""
        guard let scalar = node.scalar, scalar.style == .plain, UInt64(text) != nil || Int(text) != nil else {
            throw error(key, line: line, "must be an integer, got \(ConfigMapping.kind(of: node))")
        }
        guard let number = UInt64(text) else {
            throw error(key, line: line, "must be a non-negative integer, got \(scalar.string)")
        }
        return number
    }

    mutating func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let (node, line) = node(key) else { return value }
        guard let scalar = node.scalar, scalar.style == .plain,
              let flag = ["true": true, "false": false, "yes": true, "no": false][scalar.string.lowercased()] else {
            throw error(key, line: line, "must be true or false, got \(ConfigMapping.kind(of: node))")
        }
        return flag
    }

    mutating func ints(_ key: String) throws -> [Int]? {
        guard let (node, line) = node(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            throw error(key, line: line, "must be a list of integers such as [32000, 48000], got \(ConfigMapping.kind(of: node))")
        }
        return try sequence.map { item in
            guard let scalar = item.scalar, scalar.style == .plain,
                  let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
                throw error(key, line: item.mark?.line ?? line, "must be a list of integers, got \(ConfigMapping.kind(of: item)) in it")
            }
            return value
        }
    }

    mutating func doubles(_ key: String) throws -> [Double]? {
        guard let (node, line) = node(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            throw error(key, line: line, "must be a list of numbers such as [0.5], got \(ConfigMapping.kind(of: node))")
        }
        return try sequence.map {
            try ConfigMapping.number($0, orThrow: error(key, line: $0.mark?.line ?? line,
                                                        "must be a list of numbers, got \(ConfigMapping.kind(of: $0)) in it"))
        }
    }

    mutating func mapping(_ key: String) throws -> ConfigMapping {
        let found = node(key)
        return try ConfigMapping(found?.node, path: keyPath(key), source: source)
    }

    /// Rejects every key that was never read, suggesting the closest known one.
    func finish() throws {
        for entry in entries where !consumed.contains(entry.key) {
            var message = "unknown key '\(keyPath(entry.key))'"
            if let suggestion = ConfigMapping.closest(to: entry.key, among: consumed) {
                message += " (did you mean '\(keyPath(suggestion))'?)"
            } else if let alias = ConfigMapping.closest(to: entry.key, among: Set(ConfigMapping.aliases.keys)),
                      let target = ConfigMapping.aliases[alias], target != keyPath(entry.key) {
                message += " (did you mean '\(target)'?)"
            } else if !consumed.isEmpty {
                message += "; known keys here: \(consumed.sorted().joined(separator: ", "))"
            }
            throw ConfigError(source: source, line: entry.line, message: message)
        }
    }

    // MARK: helpers

    /// Names users bring from other trainers (or put in the wrong section), and where they live here.
    static let aliases = [
        "learning_rate": "optimizer.lr", "lr": "optimizer.lr", "momentum": "optimizer.momentum",
        "weight_decay": "optimizer.weight_decay", "nesterov": "optimizer.nesterov",
        "epochs": "training.epochs", "batch_size": "training.batch_size", "seed": "training.seed",
        "threads": "training.threads", "dataset": "data.dataset", "data_dir": "data.path",
        "scheduler": "lr_schedule", "lr_scheduler": "lr_schedule", "arch": "model.name",
        "num_classes": "model.classes", "output_dir": "run_dir", "bucket_cap_mb": "distributed.bucket_mb",
    ]

    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "null", "~", "Null", "NULL"].contains(scalar.string)
    }

    /// Plain scalars that read as numbers, including YAML 1.2 forms such as `5e-4`.
    static func number(_ node: Node, orThrow failure: ConfigError) throws -> Double {
        guard let scalar = node.scalar, scalar.style == .plain,
              let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            throw failure
        }
        return value
    }

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

    static func closest(to word: String, among candidates: Set<String>) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        // Short words (`x`, `lt`) are close to every short key: a suggestion must keep some of the word.
        let contains = word.count >= 3 && (best.0.contains(word.lowercased()) || word.lowercased().contains(best.0))
        return (best.1 <= max(2, best.0.count / 3) && best.1 < word.count) || contains ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
