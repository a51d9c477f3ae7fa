import CMPI
import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Deadlines for MPI collectives (`distributed.timeout_s`), as Horovod's stall inspector and
/// PyTorch's process-group timeout give them.
///
/// Every collective is started non-blocking and waited on here: MPI_Test in a tight loop for
/// the first milliseconds (a normal step's wait), then polls that sleep longer the longer the
/// wait, so a rank waiting for a straggler does not spin a core for minutes. When the deadline
/// passes, the rank tells every other rank where it waits, and ranks still polling answer with
/// where they are; after a short grace period the collected answers name the ranks that have not
/// arrived, and the job ends through MPI_Abort. The messages travel on a duplicate of
/// MPI_COMM_WORLD, so they never mix with the job's own.
final class CollectiveWatchdog {
    /// Seconds a collective may wait before the job is ended.
    var timeout: Double
    /// At least this long at start-up: ranks load (and index) their data before the first collective,
    /// and a slower node's file system must not end the job there.
    static let startUpTimeout = 1800.0
    private let rank: Int
    private let worldSize: Int
    private let channel: MPI_Comm?
    /// Ranks this rank has told where it stands (once each).
    private var told: Set<Int> = []
    /// What other ranks have said about where they stand (kept: a report that arrives while this
    /// rank still waits is the answer it will need when its own deadline passes).
    private var heard: [Int: (position: CollectivePosition?, waited: Double)] = [:]
    /// Kept until the process ends: MPI owns them while the non-blocking sends are in flight.
    private var outgoing: [(buffer: UnsafeMutablePointer<Int64>, request: MPI_Request?)] = []
    private static let tag: Int32 = 7_341
    private static let messageLength = 6
    /// Tight MPI_Test polling this long before sleeping between polls.
    static let spinSeconds = 0.02

    init(timeout: Double, rank: Int, worldSize: Int) {
        self.timeout = timeout
        self.rank = rank
        self.worldSize = worldSize
        var duplicate: MPI_Comm? = cmpi_comm_null()
        MPI_Comm_dup(cmpi_comm_world(), &duplicate)
        channel = duplicate
    }

    /// The sleep between polls after `waited` seconds: about a sixteenth of the time waited so far
    /// (a late rank is noticed within ~6% of its lateness), between 50 µs and 50 ms.
    static func pause(afterWaiting waited: Double) -> Double {
        min(0.05, max(50e-6, waited / 16))
    }

    /// Waits for `request`, answering other ranks' reports; ends the job when `timeout` passes.
    /// `check` turns an MPI error code into the communicator's error path.
    func wait(
        _ request: inout MPI_Request?, at position: CollectivePosition, check: (Int32, String) -> Void,
        abort: (String) -> Never
    ) {
        let start = DispatchTime.now().uptimeNanoseconds
        var done: Int32 = 0
        while true {
            check(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test")
            if done != 0 { return }
            let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            guard waited >= Self.spinSeconds else { continue }
            answerReports(from: position, waited: waited)
            let deadline = position.phase.activity == .startingUp ? max(timeout, Self.startUpTimeout) : timeout
            if waited >= deadline { abort(expire(at: position, waited: waited)) }
            usleep(UInt32(Self.pause(afterWaiting: waited) * 1e6))
        }
    }

    /// Tells `peer` where this rank stands; `wantsAnswer` asks it to say where it stands in turn.
    private func tell(_ peer: Int, position: CollectivePosition, waited: Double, wantsAnswer: Bool) {
        told.insert(peer)
        let buffer = UnsafeMutablePointer<Int64>.allocate(capacity: Self.messageLength)
        let message = [wantsAnswer ? 1 : 0, Int64(waited * 1000)] + position.encoded
        buffer.initialize(from: message, count: Self.messageLength)
        var request: MPI_Request? = cmpi_request_null()
        MPI_Isend(buffer, Int32(Self.messageLength), cmpi_int64(), Int32(peer), Self.tag, channel, &request)
        outgoing.append((buffer, request))
    }

    /// Reports that have arrived: each one's sender and what it said.
    private func receive() -> [(rank: Int, position: CollectivePosition?, waited: Double, wantsAnswer: Bool)] {
        var received: [(Int, CollectivePosition?, Double, Bool)] = []
        while true {
            var flag: Int32 = 0
            var status = MPI_Status()
            guard MPI_Iprobe(cmpi_any_source(), Self.tag, channel, &flag, &status) == cmpi_success(), flag != 0 else {
                return received
            }
            let source = cmpi_status_source(&status)
            var message = [Int64](repeating: 0, count: Self.messageLength)
            MPI_Recv(
                &message, Int32(Self.messageLength), cmpi_int64(), source, Self.tag, channel,
                cmpi_status_ignore())
            received.append(
                (
                    Int(source), CollectivePosition(encoded: message[2...]), Double(message[1]) / 1000,
                    message[0] != 0
                ))
        }
    }

    /// Answers every rank that has reported a timeout: it learns where this rank stands.
    private func answerReports(from position: CollectivePosition, waited: Double) {
        for report in receive() {
            heard[report.rank] = (report.position, report.waited)
            if report.wantsAnswer && !told.contains(report.rank) {
                tell(report.rank, position: position, waited: waited, wantsAnswer: false)
            }
        }
    }

    /// The deadline passed: asks every rank where it stands, collects the answers for a grace
    /// period, and returns the report naming the ranks that have not arrived.
    private func expire(at position: CollectivePosition, waited: Double) -> String {
        for peer in 0..<worldSize where peer != rank {
            tell(peer, position: position, waited: waited, wantsAnswer: true)
        }
        var answers = heard
        let grace = min(10, max(1, timeout / 10))
        let start = DispatchTime.now().uptimeNanoseconds
        while answers.count < worldSize - 1
            && Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < grace
        {
            for report in receive() { answers[report.rank] = (report.position, report.waited) }
            usleep(20_000)
        }
        return Self.report(
            rank: rank, worldSize: worldSize, position: position, waited: waited, timeout: timeout,
            answers: answers)
    }

    /// The timeout message: where this rank waits, then every other rank: not arrived (silent,
    /// or elsewhere) or waiting at the same point.
    static func report(
        rank: Int, worldSize: Int, position: CollectivePosition, waited: Double, timeout: Double,
        answers: [Int: (position: CollectivePosition?, waited: Double)]
    ) -> String {
        let seconds = { (value: Double) in String(Int(value.rounded())) + " s" }
        var lines = [
            "[rank \(rank)] collective timeout: waited \(seconds(waited)) at \(position) "
                + "(distributed.timeout_s: \(ValueText.shortest(timeout)))"
        ]
        var missing: [Int] = []
        for peer in 0..<worldSize where peer != rank {
            guard let answer = answers[peer] else {
                missing.append(peer)
                lines.append(
                    "  rank \(peer) has not reached \(position) for \(seconds(waited)): it does not answer "
                        + "(stopped, hung in computation, or unreachable)")
                continue
            }
            guard let theirs = answer.position else {
                lines.append("  rank \(peer) answered in a form this build cannot read (another cnn-dist version?)")
                continue
            }
            if theirs == position {
                lines.append("  rank \(peer) waits at the same point (\(seconds(answer.waited)))")
            } else if theirs.phase == position.phase {
                // Same step, another collective of it (non-blocking sums complete in any order).
                lines.append("  rank \(peer) waits in the same step, at \(theirs.operation) "
                    + "(\(seconds(answer.waited)))")
            } else {
                missing.append(peer)
                lines.append(
                    "  rank \(peer) has not reached \(position): it waits at \(theirs) "
                        + "(for \(seconds(answer.waited))); the ranks run different steps (different configs?)")
            }
        }
        let names = missing.map(String.init).joined(separator: ", ")
        lines.append(
            "  ending the job (MPI_Abort)" + (missing.isEmpty ? "" : "; not arrived: rank(s) \(names)")
                + "; checkpoints already written are intact (continue with --resume)")
        return lines.joined(separator: "\n")
    }
}

/// Numbers as a person writes them: 300 rather than 300.0.
enum ValueText {
    static func shortest(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
