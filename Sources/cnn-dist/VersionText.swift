import BuildInfo
import TensorCore

/// `cnn-dist --version`: the version and commit, the CPU features the kernels were compiled for,
/// and whether this machine's CPU has them (a binary built with CNN_DIST_CPU=native on an
/// AVX-512 login node stops with SIGILL on AVX2-only nodes).
enum VersionText {
    static func describe(cpu: CPUFeatures = .current) -> String {
        let here = cpu.relevantPresent
        var lines = [
            "cnn-dist \(Build.version) (git \(Build.gitCommit))",
            "kernels built for: \(target): " + Build.compiledFeatures.joined(separator: " "),
            "this CPU has:      "
                + (here.isEmpty ? "none of the features listed (or no /proc/cpuinfo)" : here.joined(separator: " ")),
        ]
        let missing = Build.compiledFeatures.filter { !cpu.flags.contains($0) }
        if !missing.isEmpty {
            lines.append(
                "warning: this CPU lacks \(missing.joined(separator: " ")), which the kernels were compiled for: "
                    + "rebuild here, or with CNN_DIST_CPU=portable (or the oldest nodes' -target-cpu)")
        }
        return lines.joined(separator: "\n")
    }

    private static var target: String {
        switch Build.cpuTarget {
        case "native": return "-target-cpu native"
        case "portable": return "portable x86-64 (CNN_DIST_CPU=portable)"
        default: return "-target-cpu \(Build.cpuTarget) (CNN_DIST_CPU)"
        }
    }
}
