import ArgumentParser
import Configuration

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Describe the config schema.",
        subcommands: [Keys.self])

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "Every config key with its type, default, allowed values and meaning (README's table).")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, markdown
        }

        @Option(help: "text or markdown (the README's table).") var format: Format = .text

        func run() {
            print(format == .markdown ? ConfigSchema.markdownTable() : ConfigSchema.plainTable(), terminator: "")
        }
    }
}
