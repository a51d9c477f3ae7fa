import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct CNNDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn-dist",
        abstract: "Data-parallel CNN training on CPUs, single-node or under mpirun.",
        subcommands: [TrainCommand.self, BenchCommand.self],
        defaultSubcommand: TrainCommand.self)

    static func main() {
        // Line-buffered output: progress shows up promptly in mpirun logs and pipes.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
