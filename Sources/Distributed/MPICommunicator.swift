import CMPI
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Open MPI underneath `mpirun`/`srun`: one process per rank.
///
/// MPI is initialised with MPI_THREAD_FUNNELED: only the thread that created the
/// communicator (the trainer's) calls MPI, while compute runs on Dispatch threads.
/// Every collective is non-blocking underneath and waited on by a `CollectiveWatchdog`,
/// so none waits past `distributed.timeout_s`.
public final class MPICommunicator: Communicator, CollectiveRequestOwner {
    public let rank: Int
    public let worldSize: Int
    public let localRank: Int
    public let localSize: Int
    public let backendName: String
    public var phase = CollectivePhase()
    /// Started non-blocking all-reduces and their buckets; completed ones become MPI_REQUEST_NULL.
    private var pending: [MPI_Request?] = []
    private var pendingBuckets: [Int] = []
    /// Requests waited on through `completeRequest` (those MPI_Testall completed early included):
    /// when it reaches `pending.count` the step's requests are all done and the lists start afresh.
    private var waited: [Bool] = []
    private var waitedCount = 0
    private let watchdog: CollectiveWatchdog
    /// Seconds a collective may wait (`distributed.timeout_s`); a resume sets its run's own.
    public var timeout: Double {
        get { watchdog.timeout }
        set { watchdog.timeout = newValue }
    }
    /// Default `distributed.timeout_s`: five minutes, as a collective never legitimately waits that long.
    public static let defaultTimeout = 300.0

    /// True when this process was started by an MPI launcher (mpirun, mpiexec, srun with PMIx/PMI).
    public static var launchedByMPI: Bool {
        let variables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"]
        return variables.contains { getenv($0) != nil }
    }

    /// This process's rank as the launcher announced it, readable before MPI is initialised
    /// (for naming the rank in errors that happen before MPI starts).
    public static var launcherRank: Int? {
        for variable in ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let value = getenv(variable), let rank = Int(String(cString: value)) { return rank }
        }
        return nil
    }

    /// `timeout`: seconds any collective may wait before the job is ended, naming the ranks that
    /// did not arrive.
    public init(timeout: Double = MPICommunicator.defaultTimeout) throws {
        var provided: Int32 = 0
        var argc: Int32 = 0
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let status = MPI_Init_thread(&argc, &argv, cmpi_thread_funneled(), &provided)
        guard status == cmpi_success() else { throw DistributedError.mpi(call: "MPI_Init_thread", code: status) }
        // Errors come back as codes, so they can be reported with the rank before aborting.
        MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return())
        var value: Int32 = 0
        MPI_Comm_rank(cmpi_comm_world(), &value)
        rank = Int(value)
        MPI_Comm_size(cmpi_comm_world(), &value)
        worldSize = Int(value)
        var node = cmpi_comm_null()
        MPI_Comm_split_type(cmpi_comm_world(), cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &node)
        MPI_Comm_rank(node, &value)
        localRank = Int(value)
        MPI_Comm_size(node, &value)
        localSize = Int(value)
        MPI_Comm_free(&node)
        var major: Int32 = 0, minor: Int32 = 0
        MPI_Get_version(&major, &minor)
        backendName = "MPI \(major).\(minor)"
        watchdog = CollectiveWatchdog(timeout: timeout, rank: rank, worldSize: worldSize)
    }

    private var finished = false

    /// Waits (with the watchdog) until every rank is here, then finalises: a rank that runs more
    /// steps than another ends the job after `timeout` instead of leaving MPI_Finalize hanging.
    public func finish() {
        guard !finished else { return }
        phase.activity = .finishing
        barrier()
        finished = true
        MPI_Finalize()
    }

    private func check(_ status: Int32, _ call: String) {
        guard status != cmpi_success() else { return }
        var length: Int32 = 0
        var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()))
        MPI_Error_string(status, &text, &length)
        abort(message: "[rank \(rank)] \(call) failed: \(String(cString: text))", code: 1)
    }

    /// Waits for a started collective under the watchdog.
    private func waitWatched(_ request: inout MPI_Request?, _ operation: CollectiveOperation) {
        watchdog.wait(&request, at: CollectivePosition(phase: phase, operation: operation), check: check) {
            abort(message: $0, code: Self.timeoutExitCode)
        }
    }

    /// The exit status of a job ended by the watchdog.
    public static let timeoutExitCode: Int32 = 3

    private func sum(_ base: UnsafeMutableRawPointer?, _ count: Int, _ type: MPI_Datatype?) {
        guard count > 0 else { return }
        var request: MPI_Request? = cmpi_request_null()
        check(MPI_Iallreduce(cmpi_in_place(), base, Int32(count), type, cmpi_sum(), cmpi_comm_world(), &request),
              "MPI_Iallreduce")
        waitWatched(&request, .allReduce(bucket: nil))
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        sum(buffer.baseAddress, buffer.count, cmpi_float())
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        sum(buffer.baseAddress, buffer.count, cmpi_double())
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, bucket: Int) -> CollectiveRequest {
        guard buffer.count > 0 else { return CollectiveRequest() }
        var request: MPI_Request? = cmpi_request_null()
        check(MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), cmpi_float(), cmpi_sum(),
                             cmpi_comm_world(), &request), "MPI_Iallreduce")
        pending.append(request)
        pendingBuckets.append(bucket)
        waited.append(false)
        return CollectiveRequest(owner: self, index: pending.count - 1)
    }

    public func startAllReduceSumBFloat16(_ buffer: UnsafeMutableBufferPointer<UInt16>, bucket: Int)
        -> CollectiveRequest
    {
        guard buffer.count > 0 else { return CollectiveRequest() }
        var request: MPI_Request? = cmpi_request_null()
        check(MPI_Iallreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), cmpi_uint16(), cmpi_bf16_sum(),
                             cmpi_comm_world(), &request), "MPI_Iallreduce (bf16)")
        pending.append(request)
        pendingBuckets.append(bucket)
        waited.append(false)
        return CollectiveRequest(owner: self, index: pending.count - 1)
    }

    public func completeRequest(_ index: Int) {
        guard pending.indices.contains(index), !waited[index] else { return }
        // MPI_Testall in progress() may have completed it already (the request is then null).
        if pending[index] != cmpi_request_null() {
            waitWatched(&pending[index], .allReduce(bucket: pendingBuckets[index]))
        }
        waited[index] = true
        waitedCount += 1
        if waitedCount == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingBuckets.removeAll(keepingCapacity: true)
            waited.removeAll(keepingCapacity: true)
            waitedCount = 0
        }
    }

    public func progress() {
        guard !pending.isEmpty else { return }
        var flag: Int32 = 0
        // MPI_Testall drives libnbc's schedules forward without blocking.
        check(MPI_Testall(Int32(pending.count), &pending, &flag, nil), "MPI_Testall")
    }

    private func share(_ base: UnsafeMutableRawPointer?, _ count: Int, _ type: MPI_Datatype?, root: Int) {
        guard count > 0 else { return }
        var request: MPI_Request? = cmpi_request_null()
        check(MPI_Ibcast(base, Int32(count), type, Int32(root), cmpi_comm_world(), &request), "MPI_Ibcast")
        waitWatched(&request, .broadcast(root: root))
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {
        share(buffer.baseAddress, buffer.count, cmpi_float(), root: root)
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) {
        share(buffer.baseAddress, buffer.count, cmpi_double(), root: root)
    }

    public func allGather(_ value: Double) -> [Double] {
        var send = value
        var result = [Double](repeating: 0, count: worldSize)
        // Both buffers stay pinned until the wait ends: MPI reads and writes them meanwhile.
        withUnsafeMutablePointer(to: &send) { sendPointer in
            result.withUnsafeMutableBufferPointer { received in
                var request: MPI_Request? = cmpi_request_null()
                check(MPI_Iallgather(sendPointer, 1, cmpi_double(), received.baseAddress, 1, cmpi_double(),
                                     cmpi_comm_world(), &request), "MPI_Iallgather")
                waitWatched(&request, .allGather)
            }
        }
        return result
    }

    public func barrier() {
        var request: MPI_Request? = cmpi_request_null()
        check(MPI_Ibarrier(cmpi_comm_world(), &request), "MPI_Ibarrier")
        waitWatched(&request, .barrier)
    }

    /// True when `pid` is an Open MPI launcher or daemon (mpirun, orterun, orted, prterun, prted).
    static func isLauncher(_ pid: pid_t) -> Bool {
        guard pid > 1, let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else {
            return false
        }
        let launchers: Set<String> = ["mpirun", "mpiexec", "orterun", "orted", "prterun", "prted"]
        return launchers.contains(name.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A detached `sh` that stops launcher `pid` if it still runs after `seconds` (and is still a
    /// launcher: a pid reused meanwhile is left alone).
    static func startLauncherWatcher(_ pid: pid_t, afterSeconds seconds: Int) {
        guard isLauncher(pid) else { return }
        let still = "grep -qxE 'mpirun|mpiexec|orterun|orted|prterun|prted' /proc/\(pid)/comm 2>/dev/null"
        let script = "sleep \(seconds); \(still) && kill -INT \(pid); sleep 1; \(still) && kill -INT \(pid); "
            + "sleep 3; \(still) && kill -KILL \(pid)"
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watcher.arguments = ["/bin/sh", "-c", script]
        watcher.standardInput = FileHandle.nullDevice
        watcher.standardOutput = FileHandle.nullDevice
        watcher.standardError = FileHandle.nullDevice
        try? watcher.run()
    }

    public func abort(message: String, code: Int32) -> Never {
        fputs(message + "\n", stderr)
        fflush(stderr)
        // MPI_Abort asks the launcher to end every rank. Where the launcher cannot reach a host (a
        // network partition) it waits for that host's daemon forever, and kills this rank first. So a
        // watcher in a session of its own tells the launcher twice to stop after 20 s (mpirun's "hit
        // ctrl-c again to forcibly terminate"), then kills it; and this rank ends itself meanwhile.
        Self.startLauncherWatcher(getppid(), afterSeconds: 20)
        Thread.detachNewThread {
            sleep(25)
            _exit(code)
        }
        MPI_Abort(cmpi_comm_world(), code)
        exit(code)
    }
}
