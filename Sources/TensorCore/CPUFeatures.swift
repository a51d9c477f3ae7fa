import Foundation

/// The SIMD features of the CPU this process runs on, as Linux reports them in /proc/cpuinfo:
/// what `--version` compares with the build's target, and what kernels may dispatch on.
public struct CPUFeatures: Equatable, Sendable {
    /// The flags that matter to our kernels, in the order they are listed.
    public static let relevant = [
        "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
        "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16",
    ]

    /// All flags of the first processor entry.
    public let flags: Set<String>

    public static let current = CPUFeatures(
        cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    /// Reads the first `flags : …` line of a /proc/cpuinfo text; none gives no flags.
    public init(cpuinfo: String) {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }
        let values = line.flatMap { $0.split(separator: ":", maxSplits: 1).dropFirst().first } ?? ""
        flags = Set(values.split(separator: " ").map(String.init))
    }

    /// The relevant features present, e.g. ["sse4_2", "avx", "avx2", "fma", "f16c"].
    public var relevantPresent: [String] { Self.relevant.filter(flags.contains) }
}
