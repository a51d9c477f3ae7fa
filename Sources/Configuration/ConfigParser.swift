import Foundation
import Yams

/// Every problem a config has, reported together, each `file:line: key: …`.
public struct ConfigErrors: Error, CustomStringConvertible, Equatable {
    public var problems: [ConfigError]

    public init(_ problems: [ConfigError]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension TrainConfig {
    /// Reads and validates a YAML config file.
    /// `dataPathGiven`: the command line supplies `data.path` (`--data`), so a file without one is fine.
    public static func load(file path: String, knownModels: [String], dataPathGiven: Bool = false) throws -> TrainConfig {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let reason = !exists ? "no such config file" : isDirectory.boolValue ? "is a directory, not a config file"
                : "config file cannot be read (permissions?)"
            throw ConfigError(source: path, line: nil, message: reason)
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ConfigError(source: path, line: nil, message: "config file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path, knownModels: knownModels, dataPathGiven: dataPathGiven)
    }

    /// Parses and validates config YAML; `source` names it in errors. Throws `ConfigErrors`
    /// listing every problem (unknown keys, wrong types, values out of range, combinations).
    public static func parse(yaml: String, source: String, knownModels: [String], dataPathGiven: Bool = false) throws
        -> TrainConfig {
        let document: Node?
        do {
            document = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigErrors([ConfigError(source: source, line: ConfigParser.line(of: error),
                                            message: "invalid YAML: \(ConfigParser.problem(in: error))")])
        }
        var parser = ConfigParser(source: source)
        var config = TrainConfig()
        parser.read(document, path: "", into: &config)
        let layers = ConfigParser.node(at: "model.layers", in: document)
        if let layers, !ConfigNodes.isNull(layers), ConfigParser.node(at: "model.name", in: document) == nil {
            config.model.name = "custom"
        }
        let validator = ConfigValidator(source: source, document: document)
        // A key whose value could not be read keeps its default: check the others, and report both.
        var unread = Set(parser.problems.compactMap(\.keyPath))
        if unread.contains("model.layers") { unread.insert("model.name") }  // the architecture it names did not read
        let problems = parser.problems + validator.problems(config, knownModels: knownModels, requireDataPath: !dataPathGiven)
            .filter { problem in
                guard let keyPath = problem.keyPath else { return true }
                return !unread.contains { $0 == keyPath || $0.hasPrefix(keyPath + ".") }
            }
        if !problems.isEmpty { throw ConfigErrors(ConfigParser.ordered(problems)) }
        return config
    }
}

/// Walks a YAML document against `ConfigSchema`: each known key's value is stored through its
/// declaration; unknown keys and values of the wrong type become problems, all kept.
struct ConfigParser {
    let source: String
    private(set) var problems: [ConfigError] = []

    init(source: String) { self.source = source }

    mutating func read(_ node: Node?, path: String, into config: inout TrainConfig) {
        guard let node, !ConfigNodes.isNull(node) else { return }
        guard case .mapping(let mapping) = node else {
            problems.append(ConfigError(source: source, line: node.mark?.line, keyPath: path.isEmpty ? nil : path,
                                        message: "'\(path.isEmpty ? "the document" : path)' must be a mapping of keys to values, got \(ConfigNodes.kind(of: node))"))
            return
        }
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string else {
                problems.append(ConfigError(source: source, line: keyNode.mark?.line,
                                            message: "keys of '\(path.isEmpty ? "the top level" : path)' must be plain names"))
                continue
            }
            let keyPath = path.isEmpty ? name : path + "." + name
            if name.contains(".") {
                // A dotted name ("optimizer.lr: 0.2") would be a second way to write a key, and
                // silently clash with the nested one: keys are nested mappings only.
                problems.append(ConfigError(source: source, line: keyNode.mark?.line,
                                            message: ConfigParser.unknownKeyMessage(name, in: path)
                                                + "; write nested keys as mappings (optimizer: {lr: 0.2})"))
            } else if let key = ConfigSchema.key(keyPath) {
                do {
                    try key.store(&config, value, source)
                } catch let mismatch as ConfigValueMismatch {
                    let line = mismatch.line ?? value.mark?.line ?? keyNode.mark?.line
                    problems.append(ConfigError(source: source, line: line, keyPath: keyPath,
                                                message: "'\(keyPath)' \(mismatch.message)"))
                } catch var error as ConfigError {
                    error.keyPath = error.keyPath ?? keyPath
                    problems.append(error)
                } catch {
                    problems.append(ConfigError(source: source, line: value.mark?.line, keyPath: keyPath, message: "'\(keyPath)' \(error)"))
                }
            } else if ConfigSchema.sections.contains(keyPath) {
                read(value, path: keyPath, into: &config)
            } else {
                problems.append(ConfigError(source: source, line: keyNode.mark?.line,
                                            message: ConfigParser.unknownKeyMessage(name, in: path)))
            }
        }
    }

    /// "unknown key 'optimizer.lerning_rate' (did you mean 'optimizer.lr'?)", or the keys known there.
    static func unknownKeyMessage(_ name: String, in path: String) -> String {
        func full(_ local: String) -> String { path.isEmpty ? local : path + "." + local }
        let prefix = path.isEmpty ? "" : path + "."
        let known = Set((ConfigSchema.keys.map(\.path) + ConfigSchema.sections).filter { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }.filter { !$0.contains(".") })
        var message = "unknown key '\(full(name))'"
        if let suggestion = ConfigSpelling.closest(to: name, among: known) {
            message += " (did you mean '\(full(suggestion))'?)"
        } else if let alias = ConfigSpelling.closest(to: name, among: Set(ConfigSpelling.aliases.keys)),
                  let target = ConfigSpelling.aliases[alias], target != full(name) {
            message += " (did you mean '\(target)'?)"
        } else if !known.isEmpty {
            message += "; known keys here: \(known.sorted().joined(separator: ", "))"
        }
        return message
    }

    /// The node at a dotted path, if the document has one.
    static func node(at keyPath: String, in document: Node?) -> Node? {
        var node = document
        for key in keyPath.split(separator: ".") {
            guard case .mapping(let mapping)? = node,
                  let entry = mapping.first(where: { $0.key.scalar?.string == String(key) }) else { return nil }
            node = entry.value
        }
        return node
    }

    /// By line, problems without one last; the order found among equals.
    static func ordered(_ problems: [ConfigError]) -> [ConfigError] {
        problems.enumerated().sorted { a, b in
            (a.element.line ?? .max, a.offset) < (b.element.line ?? .max, b.offset)
        }.map(\.element)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return nil
        }
    }

    static func problem(in error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        case .duplicatedKeysInMapping(let keys, _):
            // Yams's own text quotes the whole document; the line (of the first duplicate) is enough.
            return "key \(keys.map { "'\($0)'" }.joined(separator: ", ")) appears more than once in the same mapping"
        default: return "\(error)"
        }
    }
}
