import TensorCore

/// Top-k accuracy: a sample counts when its label is among the k highest logits.
enum TopK {
    /// Samples of a [N, classes] batch whose label ranks within the top `k` (ties count against).
    static func hits(_ logits: Tensor, labels: [Int32], k: Int) -> Int {
        let classes = logits.shape[1]
        var hits = 0
        for (n, label) in labels.enumerated() {
            let row = logits.pointer + n * classes
            let target = row[Int(label)]
            var higher = 0
            for j in 0..<classes where row[j] > target || (row[j] == target && j < Int(label)) { higher += 1 }
            if higher < k { hits += 1 }
        }
        return hits
    }
}
