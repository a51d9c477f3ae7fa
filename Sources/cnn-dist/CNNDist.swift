import ArgumentParser
import Configuration
import Foundation
import Train

#if canImport(Glibc)
import Glibc
#endif

@main
struct CNNDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn-dist",
        abstract: "Data-parallel CNN training on CPUs, single-node or under mpirun.",
        version: VersionText.describe(),
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, PlotCommand.self, SummaryCommand.self,
                      CheckpointCommand.self,
                      DataCommand.self, BenchCommand.self, ConfigCommand.self],
        defaultSubcommand: TrainCommand.self)

    static func main() {
        // Line-buffered output: progress shows up promptly in mpirun logs and pipes.
        setvbuf(stdout, nil, _IOLBF, 0)
        var command: ParsableCommand
        let arguments = argumentsWithBareResume(Array(CommandLine.arguments.dropFirst()))
        if let unknown = unknownCommand(arguments) {
            FileHandle.standardError.write(Data("error: \(unknown)\n".utf8))
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
        do {
            command = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)  // usage, --help, --version: ArgumentParser's own output
        }
        do {
            try command.run()
        } catch let error as ExitCode {
            exit(withError: error)
        } catch where exitCode(for: error) == .success {
            // `--help` on a command with subcommands reaches here: ArgumentParser's help command
            // throws its request from run(); ArgumentParser prints the help.
            exit(withError: error)
        } catch {
            // Our errors say what and where: print them plainly instead of a Swift dump, naming the
            // rank under a launcher (a rank exiting before MPI starts also ends the job).
            FileHandle.standardError.write(Data("\(ProcessOutput.rankPrefix)error: \(error)\n".utf8))
            Glibc.exit((error as? CommandFailure)?.status ?? ExitStatus.of(error))
        }
    }

    /// A first argument that is neither an option nor a command: rejected, rather than parsed as an
    /// argument of `train` (the default command), which would report it as unexpected there.
    static func unknownCommand(_ arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help" else { return nil }
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }
        guard !names.contains(first) else { return nil }
        let hint = ConfigSpelling.closest(to: first, among: Set(names)).map { " (did you mean '\($0)'?)" } ?? ""
        return "unknown command '\(first)'\(hint); commands: \(names.joined(separator: ", "))"
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
