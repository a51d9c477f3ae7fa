import Distributed
import NN
import TensorCore

/// Keeps model replicas identical across ranks: the initial broadcast from rank 0 and
/// the periodic check that every rank still holds the same parameters.
public enum ReplicaSynchronization {
    /// Every parameter and buffer of `model` as its rank 0 value (DDP's initial broadcast),
    /// so replicas start identical whatever their seeds.
    public static func broadcastFromCoordinator(_ model: Model, communicator: Communicator) {
        guard communicator.worldSize > 1 else { return }
        for tensor in model.namedParameters().map(\.parameter.value) + model.namedBuffers().map(\.tensor) {
            communicator.broadcast(tensor.buffer, root: 0)
        }
    }

    /// A 32-bit FNV-1a hash of a tensor's bits: exact as a Double, so it travels through
    /// the Double collectives without loss.
    public static func checksum(_ tensor: Tensor) -> Double {
        var hash: UInt32 = 2_166_136_261
        let words = UnsafeRawPointer(tensor.pointer).assumingMemoryBound(to: UInt32.self)
        for i in 0..<tensor.count {
            hash = (hash ^ words[i]) &* 16_777_619
        }
        return Double(hash)
    }

    /// Compares every tensor's checksum with rank 0's; on a mismatch every rank throws the
    /// same error, naming the first differing tensor and the ranks that hold another value.
    public static func verify(_ model: Model, communicator: Communicator, step: Int) throws {
        guard communicator.worldSize > 1 else { return }
        let named = model.namedParameters().map { ($0.name, $0.parameter.value) }
            + model.namedBuffers().map { ($0.name, $0.tensor) }
        let local = named.map { checksum($0.1) }
        var reference = local
        communicator.broadcast(&reference, root: 0)
        let firstMismatch = local.indices.first { local[$0] != reference[$0] } ?? -1
        let perRank = communicator.allGather(Double(firstMismatch))
        let divergent = perRank.indices.filter { perRank[$0] >= 0 }
        guard let tensorIndex = divergent.map({ Int(perRank[$0]) }).min() else { return }
        throw TrainError.replicaDivergence(tensor: named[tensorIndex].0, ranks: divergent, step: step)
    }
}
