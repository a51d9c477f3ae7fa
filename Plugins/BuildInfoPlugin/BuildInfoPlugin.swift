import Foundation
import PackagePlugin

/// Writes the build's identity (git commit, CPU target) into the BuildInfo target before every
/// build, so `cnn-dist --version` names what was built. A prebuild command runs each build; the
/// script rewrites its file only when the facts changed, so an unchanged tree rebuilds nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        let script = context.package.directoryURL.appendingPathComponent("launch/build-info.sh")
        return [
            .prebuildCommand(
                displayName: "cnn-dist build identity (git commit, CPU target)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, context.package.directoryURL.path, output.path],
                // The command otherwise runs without PATH or HOME: git found only at /bin/sh's default
                // path, and a user's git configuration (safe.directory) unread.
                environment: ProcessInfo.processInfo.environment.filter { ["PATH", "HOME"].contains($0.key) }
                    .merging(["CNN_DIST_CPU": ProcessInfo.processInfo.environment["CNN_DIST_CPU"] ?? "native"]) { $1 },
                outputFilesDirectory: output)
        ]
    }
}
