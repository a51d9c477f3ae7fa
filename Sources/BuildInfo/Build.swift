/// What was built: the version, and the git commit and CPU target recorded at build time by
/// launch/build-info.sh (the BuildInfo plugin's prebuild step writes `BuildFacts`).
public enum Build {
    public static let version = "0.3.0"
    /// Short commit hash, "+dirty" with uncommitted changes to tracked files; "unknown" outside git.
    public static var gitCommit: String { BuildFacts.gitCommit }
    /// CNN_DIST_CPU at build time: native, portable, or a -target-cpu name.
    public static var cpuTarget: String { BuildFacts.cpuTarget }
    /// The relevant SIMD features of the machine that built this binary (what `native` targets).
    public static var buildMachineFeatures: [String] {
        BuildFacts.buildMachineFeatures.split(separator: " ").map(String.init)
    }
}
