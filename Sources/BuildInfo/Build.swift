import CBuildTarget

/// What was built: the version, and the git commit and CPU target recorded at build time by
/// launch/build-info.sh (the BuildInfo plugin's prebuild step writes `BuildFacts`).
public enum Build {
    public static let version = "0.3.0"
    /// Short commit hash, "+dirty" with uncommitted changes to tracked files; "unknown" outside git.
    public static var gitCommit: String { BuildFacts.gitCommit }
    /// CNN_DIST_CPU at build time: native, portable, or a -target-cpu name.
    public static var cpuTarget: String { BuildFacts.cpuTarget }
    /// The SIMD features the kernels were compiled for (`native`: the machine that compiled
    /// them), from the compiler's target macros in a C file built with the same CPU target.
    public static var compiledFeatures: [String] {
        String(cString: cnn_dist_compiled_features()).split(separator: " ").map(String.init)
    }
}
