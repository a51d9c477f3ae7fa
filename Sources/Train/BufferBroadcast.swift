import Distributed
import NN
import TensorCore

/// PyTorch DDP's `broadcast_buffers=True`: after every step each rank takes rank 0's
/// buffers (BatchNorm running statistics, batch counters), so replicas stay identical while
/// each rank normalises with its own batch's statistics, as in DDP without SyncBatchNorm.
/// The buffers travel packed in one flat array, one collective per step.
final class BufferBroadcast {
    private let buffers: [Tensor]
    private let packed: UnsafeMutableBufferPointer<Float>
    private let communicator: Communicator

    init(model: Model, communicator: Communicator) {
        buffers = model.namedBuffers().map(\.tensor)
        packed = .allocate(capacity: max(1, buffers.reduce(0) { $0 + $1.count }))
        packed.initialize(repeating: 0)
        self.communicator = communicator
    }

    deinit { packed.deallocate() }

    var isNeeded: Bool { communicator.worldSize > 1 && !buffers.isEmpty }

    func synchronize() {
        guard isNeeded else { return }
        var offset = 0
        if communicator.isCoordinator {
            for tensor in buffers {
                (packed.baseAddress! + offset).update(from: tensor.pointer, count: tensor.count)
                offset += tensor.count
            }
        }
        communicator.broadcast(UnsafeMutableBufferPointer(rebasing: packed[0..<buffers.reduce(0) { $0 + $1.count }]), root: 0)
        offset = 0
        for tensor in buffers {
            tensor.pointer.update(from: packed.baseAddress! + offset, count: tensor.count)
            offset += tensor.count
        }
    }
}
