import Foundation
import NN

#if canImport(Glibc)
import Glibc
#endif

/// Sizes checked before they are allocated: a run that cannot fit in this machine's memory is
/// refused with what it needs and what there is, instead of dying in malloc (or in the kernel's
/// OOM killer) minutes later. The figures are lower bounds, so nothing that fits is refused.
public enum MemoryBudget {
    /// Bytes this machine gives a process: physical memory, or the cgroup's limit where lower (tests
    /// may lower it).
    public static var available: Double = {
        let physical = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        for limitFile in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: limitFile, encoding: .utf8),
                let limit = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0
            {
                return min(physical, limit)
            }
        }
        return physical
    }()

    /// Throws when `bytes` (a Double: absurd sizes must not overflow) exceed `limit`.
    static func require(
        _ bytes: Double, for what: @autoclosure () -> String, advice: String,
        limit: Double = available
    ) throws {
        guard bytes > limit else { return }
        throw TrainError.notEnoughMemory(what: what(), needed: text(bytes), available: text(limit), advice: advice)
    }

    /// Bytes as people read them: "512 MiB", "23.5 GiB", "7.1 TiB".
    static func text(_ bytes: Double) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0
            ? "\(Int(value)) bytes" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    /// Training `model` on `batch` images per rank of `imageShape`, with `prefetch` batches made
    /// ahead, on `ranksOnNode` ranks sharing this machine: parameters, gradients and momentum,
    /// the forward activations, and the input batches.
    public static func checkTraining(
        _ model: Model, batch: Int, imageShape: [Int], prefetch: Int, ranksOnNode: Int,
        limit: Double = available
    ) throws {
        let summary = try ModelSummary(model: model)
        let imageValues = Double(imageShape.reduce(1, *))
        let values =
            Double(summary.fixedTrainingValues) + Double(summary.forwardActivations) * Double(batch)
            + imageValues * Double(batch) * Double(prefetch + 2)
        let shape = imageShape.map(String.init).joined(separator: "x")
        try require(
            values * Double(ModelSummary.bytesPerValue) * Double(max(1, ranksOnNode)),
            for: "\(model.name) on batches of \(batch) images of \(shape) per rank, \(ranksOnNode) rank(s) on "
                + "this machine (parameters, gradients, momentum, activations and input batches)",
            advice: "lower training.batch_size or data.image_size, or spread the ranks over more nodes",
            limit: limit)
    }
}
