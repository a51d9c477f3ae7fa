/// How often each rank reached the step's all-reduce last, over an epoch: a rank that is last
/// far more often than its share is the job's straggler (a slower node, a noisy neighbour).
/// Logged at debug level at each epoch end.
struct StragglerTally {
    private(set) var lastCounts: [Int]

    init(ranks: Int) { lastCounts = [Int](repeating: 0, count: ranks) }

    mutating func record(lastToArrive rank: Int?) {
        guard let rank, lastCounts.indices.contains(rank) else { return }
        lastCounts[rank] += 1
    }

    mutating func reset() { lastCounts = [Int](repeating: 0, count: lastCounts.count) }

    /// "arrived last at the all-reduce: rank 1 in 812 of 1000 steps (81%), rank 0 in 188 (19%)",
    /// most often first; nil with nothing recorded.
    var summary: String? {
        let total = lastCounts.reduce(0, +)
        guard total > 0 else { return nil }
        let ranked = lastCounts.indices.filter { lastCounts[$0] > 0 }.sorted { lastCounts[$0] > lastCounts[$1] }
        let parts = ranked.enumerated().map { position, rank in
            let percent = Int((100 * Double(lastCounts[rank]) / Double(total)).rounded())
            return position == 0
                ? "rank \(rank) in \(lastCounts[rank]) of \(total) steps (\(percent)%)"
                : "rank \(rank) in \(lastCounts[rank]) (\(percent)%)"
        }
        return "arrived last at the all-reduce: " + parts.joined(separator: ", ")
    }
}
