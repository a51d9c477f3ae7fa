/// Spelling help for unknown keys and layer names: the closest known name, and the names
/// users bring from other trainers with where they live here.
public enum ConfigSpelling {
    /// Names users bring from other trainers (or put in the wrong section), and where they live here.
    static let aliases = [
        "learning_rate": "optimizer.lr", "lr": "optimizer.lr", "momentum": "optimizer.momentum",
        "weight_decay": "optimizer.weight_decay", "nesterov": "optimizer.nesterov",
        "epochs": "training.epochs", "batch_size": "training.batch_size", "seed": "training.seed",
        "threads": "training.threads", "dataset": "data.dataset", "data_dir": "data.path",
        "scheduler": "lr_schedule", "lr_scheduler": "lr_schedule", "arch": "model.name",
        "num_classes": "model.classes", "output_dir": "run_dir", "bucket_cap_mb": "distributed.bucket_mb",
    ]

    public static func closest(to word: String, among candidates: Set<String>) -> String? {
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
