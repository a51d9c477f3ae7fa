import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct CNNDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn-dist",
        abstract: "Data-parallel CNN training on CPUs, single-node or under mpirun.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PlotCommand.self, SummaryCommand.self, CheckpointCommand.self,
                      DataCommand.self, BenchCommand.self],
        defaultSubcommand: TrainCommand.self)

    static func main() {
        // Line-buffered output: progress shows up promptly in mpirun logs and pipes.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot(argumentsWithBareResume(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    /// `--resume` may stand alone (the run directory's latest checkpoint) or take a path.
    static func argumentsWithBareResume(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for (index, argument) in arguments.enumerated() {
            result.append(argument)
            if argument == "--resume" && (index + 1 == arguments.count || arguments[index + 1].hasPrefix("-")) {
                result.append(TrainCommand.latest)
            }
        }
        return result
    }
}
