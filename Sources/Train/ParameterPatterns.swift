import Foundation
import NN

/// Glob patterns over tensor names (`features.*`, `fc.*`), as `training.freeze` and
/// `init.exclude` give them: `*` matches any run of characters, dots included (fnmatch).
enum ParameterPatterns {
    /// Whether `name` matches any of `patterns`.
    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { fnmatch($0, name, 0) == 0 }
    }

    /// The parameter names matching `patterns`; a pattern that matches none is an error (a typo
    /// would otherwise freeze or reset nothing, silently).
    static func matching(_ patterns: [String], in model: Model, key: String) throws -> Set<String> {
        let names = model.namedParameters().map(\.name)
        try requireEachMatches(patterns, names: names, key: key)
        return Set(names.filter { matches($0, patterns) })
    }

    static func requireEachMatches(_ patterns: [String], names: [String], key: String) throws {
        for pattern in patterns where !names.contains(where: { fnmatch(pattern, $0, 0) == 0 }) {
            let sample = names.prefix(6).joined(separator: ", ") + (names.count > 6 ? ", …" : "")
            throw TrainError.patternMatchesNothing(key: key, pattern: pattern, parameters: sample)
        }
    }

    /// The classifier: the parameters of the module that holds the model's last parameter
    /// (`fc.*` in ResNets, `classifier.6.*` in AlexNet and VGG).
    static func head(of model: Model) -> [String] {
        guard let last = model.namedParameters().last?.name else { return [] }
        guard let dot = last.lastIndex(of: ".") else { return [last] }
        return [String(last[..<dot]) + ".*"]
    }
}
