#if canImport(Glibc)
import Glibc
#endif

/// World size 1: every collective is the identity. Single-node mode.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public var backendName: String { "single process" }
    public var phase = CollectivePhase()
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>, bucket: Int) -> CollectiveRequest {
        CollectiveRequest()
    }
    public func progress() {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Double>, root: Int) {}
    public func allGather(_ value: Double) -> [Double] { [value] }
    public func barrier() {}
    public func finish() {}
    public func abort(message: String, code: Int32) -> Never {
        fputs(message + "\n", stderr)
        exit(code)
    }
}
