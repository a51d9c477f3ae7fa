import Distributed
import Foundation

/// An error that ends the command with a status other than 1 (`checkpoint verify`: 1 checksum
/// mismatch, 2 unreadable or malformed).
struct CommandFailure: Error, CustomStringConvertible {
    var status: Int32
    var message: String

    var description: String { message }
}

/// Facts about where this process writes.
enum ProcessOutput {
    /// Standard output is an interactive terminal: a tty, not `TERM=dumb`, and not a rank started by
    /// mpirun or srun (Open MPI hands ranks a pseudo-terminal even when mpirun's own output is a log file).
    static var isInteractiveTerminal: Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" && !MPICommunicator.launchedByMPI
    }

    /// "[rank N] " under a launcher, so that a job's error names the rank it came from; "" otherwise.
    static var rankPrefix: String {
        MPICommunicator.launchedByMPI ? MPICommunicator.launcherRank.map { "[rank \($0)] " } ?? "" : ""
    }
}
