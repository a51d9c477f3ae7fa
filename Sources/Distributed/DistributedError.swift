/// Failures setting up or running collectives.
public enum DistributedError: Error, CustomStringConvertible {
    case mpi(call: String, code: Int32)
    case invalidWorkers(Int)
    /// A record rank `root` sent could not be encoded there or decoded here.
    case undecodableBroadcast(root: Int)

    public var description: String {
        switch self {
        case .mpi(let call, let code):
            return "\(call) failed with MPI error code \(code)"
        case .invalidWorkers(let count):
            return "--workers must be at least 1, got \(count)"
        case .undecodableBroadcast(let root):
            return "the record broadcast from rank \(root) could not be encoded or decoded (a bug: please report it)"
        }
    }
}
