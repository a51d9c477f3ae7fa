#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM (Slurm pre-emption, `kill`) and SIGINT (Ctrl-C) ask the trainer to finish the
/// step in progress, save a checkpoint and exit 0. A second signal ends the process at once.
enum StopSignals {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    nonisolated(unsafe) private static var installed = false

    static func install() {
        guard !installed else { return }
        installed = true
        let handler: @convention(c) (Int32) -> Void = { signalNumber in
            if StopSignals.requested != 0 {
                signal(signalNumber, SIG_DFL)
                raise(signalNumber)
            }
            StopSignals.requested = 1
        }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }

    static var isRequested: Bool { requested != 0 }
}
