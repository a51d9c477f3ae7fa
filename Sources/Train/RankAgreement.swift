import Configuration
import Distributed
import Foundation
import NN

/// Before the first step, every rank checks that it runs what rank 0 runs: the resolved config
/// (every key that changes the numbers or the sequence of collectives), the model's tensors, the
/// data set's size and classes, and the binary. A rank launched with another `--seed`, batch size
/// or build would otherwise train on something else silently, or wait forever in a collective
/// the others never start. Any difference stops every rank with the same list.
public enum RankAgreement {
    /// One fact on which some ranks differ from rank 0.
    public struct Difference: Equatable, Sendable, CustomStringConvertible {
        public var fact: String
        public var coordinatorValue: String
        /// Each other value and the ranks holding it.
        public var others: [(value: String, ranks: [Int])]

        public static func == (a: Difference, b: Difference) -> Bool {
            a.fact == b.fact && a.coordinatorValue == b.coordinatorValue
                && a.others.map(\.value) == b.others.map(\.value) && a.others.map(\.ranks) == b.others.map(\.ranks)
        }

        public var description: String {
            "\(fact): \(coordinatorValue) on rank 0, "
                + others.map { "\($0.value) on rank(s) \($0.ranks.map(String.init).joined(separator: ", "))" }
                .joined(separator: ", ")
        }
    }

    /// Keys that may differ from rank to rank: where this node finds its files and how many
    /// threads it uses change neither the numbers nor the collectives (the data's size and
    /// classes are compared instead of its paths).
    static let perRankKeys: Set<String> = [
        "run_dir", "training.threads", "data.workers", "data.prefetch", "data.path", "data.train_path",
        "data.val_path", "data.classes_file", "log_every", "metrics.every_steps", "metrics.tensorboard",
        "distributed.timeout_s",
    ]

    /// What this rank runs, fact by fact.
    static func facts(
        config: TrainConfig, model: Model, trainCount: Int, validationCount: Int,
        bucketCount: Int, classNames: [String]? = nil
    ) -> [String: String] {
        var facts: [String: String] = [:]
        let resolved = config.resolved()
        for key in ConfigSchema.keys where !perRankKeys.contains(key.path) {
            facts[key.path] = key.valueText(in: resolved)
        }
        let tensors =
            model.namedParameters().map { "\($0.name)\($0.parameter.value.shape)" }
            + model.namedBuffers().map { "\($0.name)\($0.tensor.shape)" }
        facts["model tensors"] =
            "\(tensors.count) tensors, layout digest \(Self.digest(tensors.joined(separator: ";")))"
        facts["training images"] = String(trainCount)
        facts["validation images"] = String(validationCount)
        facts["model classes"] = String(model.classes)
        if let classNames {  // the same count in another order would train on other labels
            let digest = Self.digest(classNames.joined(separator: "\n"))
            facts["class names"] = "\(classNames.count) names, digest \(digest)"
        }
        facts["gradient buckets"] = String(bucketCount)
        facts["cnn-dist build"] = BuildIdentity.executableDigest
        return facts
    }

    /// Compares `facts` with every other rank's through rank 0; throws on every rank alike when
    /// any rank differs.
    public static func verify(_ facts: [String: String], communicator: Communicator) throws {
        guard communicator.worldSize > 1 else { return }
        var reference = facts
        try communicator.broadcast(&reference, root: 0)
        let keys = Set(facts.keys).union(reference.keys).sorted()
        var mine: [String: String] = [:]
        for key in keys where facts[key] != reference[key] { mine[key] = facts[key] ?? "(absent)" }
        let counts = communicator.allGather(Double(mine.count))
        guard counts.contains(where: { $0 > 0 }) else { return }
        // Each differing rank's values, one broadcast per such rank, so every rank can state the whole list.
        var byFact: [String: [(value: String, rank: Int)]] = [:]
        for rank in counts.indices where counts[rank] > 0 {
            var theirs = rank == communicator.rank ? mine : [:]
            try communicator.broadcast(&theirs, root: rank)
            for (fact, value) in theirs { byFact[fact, default: []].append((value, rank)) }
        }
        let differences = byFact.keys.sorted().map { fact -> Difference in
            let entries = byFact[fact] ?? []
            var values: [String] = []
            for entry in entries where !values.contains(entry.value) { values.append(entry.value) }
            return Difference(
                fact: fact, coordinatorValue: reference[fact] ?? "(absent)",
                others: values.map { value in (value, entries.filter { $0.value == value }.map(\.rank)) })
        }
        throw TrainError.ranksDisagree(differences)
    }

    /// FNV-1a, 64 bits, as hex: the same on every machine (Swift's Hasher is seeded per process).
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}

/// Which build of cnn-dist this process runs: a digest of its own executable, so ranks started
/// from different builds (another commit, another CNN_DIST_CPU) are told apart.
enum BuildIdentity {
    static let executableDigest: String = {
        guard let bytes = FileManager.default.contents(atPath: "/proc/self/exe") else { return "unknown" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        bytes.withUnsafeBytes { raw in
            for byte in raw { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return "executable digest " + String(hash, radix: 16)
    }()
}
