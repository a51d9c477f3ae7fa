import Datasets
import Yams

/// The resolved config as YAML: every key of `ConfigSchema` with its effective value (the data
/// set's normalisation where the config names none), written with Yams. Written to the run
/// directory as config.yaml and into checkpoints; parsing it again gives the same run.
extension TrainConfig {
    /// This config with the values that apply where it leaves a key to a default that depends on
    /// others (`data.normalize`: the data set's statistics). Trains exactly as `self`.
    public func resolved() -> TrainConfig {
        var effective = self
        if effective.data.normalize == nil, let facts = DatasetFacts.named(data.dataset) {
            // Each Float through its shortest decimal, which reads back to the same Float.
            func decimal(_ values: [Float]) -> [Double] { values.map { Double($0.description) ?? Double($0) } }
            let defaults = facts.defaultNormalization
            effective.data.normalize = NormalizeSection(mean: decimal(defaults.mean), std: decimal(defaults.std))
        }
        return effective
    }

    public func resolvedYAML() -> String {
        let root = ConfigSchema.mapping(below: "", of: resolved())
        // A tree of plain scalars and sequences always serialises; an empty string would fail to parse back.
        return (try? Yams.serialize(node: root, width: -1, sortKeys: false)) ?? ""
    }
}

extension ConfigSchema {
    /// The keys under `prefix` as a YAML mapping, in declaration order, sections nested.
    static func mapping(below prefix: String, of config: TrainConfig) -> Node {
        var pairs: [(Node, Node)] = []
        var seen: Set<String> = []
        let start = prefix.isEmpty ? "" : prefix + "."
        for key in keys where key.path.hasPrefix(start) {
            let rest = key.path.dropFirst(start.count)
            let name = String(rest.prefix { $0 != "." })
            guard seen.insert(name).inserted else { continue }
            let value = rest.contains(".") ? mapping(below: start + name, of: config) : key.read(config)
            pairs.append((Node(name), value))
        }
        return Node(pairs, Tag(.map), .block)
    }
}
