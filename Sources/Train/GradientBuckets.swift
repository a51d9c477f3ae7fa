import Dispatch
import Distributed
import NN
import TensorCore

/// Gradients in contiguous buckets, all-reduced as soon as backward has produced them
/// (PyTorch DDP's design).
///
/// Parameters are assigned to buckets in reverse order, the order backward produces
/// their gradients, up to `capacityBytes` per bucket. Each gradient tensor is bound into
/// its bucket's memory, so layers write gradients straight into the all-reduce buffer.
/// When a bucket's last parameter is ready, its all-reduce starts and overlaps with the
/// rest of backward; `finishStep` waits for all of them and divides by the world size.
///
/// Bucket 0 (the last layers', all-reduced first) carries a few control values after its
/// gradients: per-step facts every rank must agree on (a stop request, a non-finite loss,
/// the step's loss and accuracy sums) travel with the gradients, summed over ranks, at no
/// extra collective. After them, one slot per rank holds that rank's wait in the previous
/// step's `finishStep` (zero elsewhere), so every rank learns which rank arrived last: the
/// one that waited least (Horovod's straggler record, at no extra message).
public final class GradientBuckets {
    enum Control: Int, CaseIterable {
        case stopRequested = 0
        case nonFiniteLoss = 1
        /// This step's training loss sum, correct predictions and sample count, for the epoch's metrics.
        case lossSum = 2
        case correct = 3
        case count = 4
        /// Unreadable training images replaced this step (`data.on_bad_image: skip`).
        case replacedImages = 5
    }

    private struct Bucket {
        let storage: UnsafeMutablePointer<Float>
        /// Elements all-reduced: the gradients, then (bucket 0 only) the control values.
        let count: Int
        let gradientCount: Int
        let parameterCount: Int
        var remaining = 0
        var request: CollectiveRequest?
        /// With bf16 compression, bucket 0's Float32 controls.
        var controlRequest: CollectiveRequest?
    }

    private var buckets: [Bucket] = []
    private let bucketOfParameter: [Int]
    private let communicator: Communicator
    /// Seconds the last step spent blocked in `finishStep` waiting for all-reduces.
    public private(set) var lastWaitSeconds = 0.0
    /// The rank that reached the previous step's all-reduce last (waited least); nil on one rank.
    public private(set) var lastToArrive: Int?
    /// Gradient accumulation (`training.micro_batches`): per bucket, the sum of this step's earlier
    /// micro-batches' gradients, added in just before the bucket's all-reduce starts. Empty without.
    private var accumulated: [UnsafeMutablePointer<Float>] = []
    /// Set while an earlier micro-batch runs backward: its gradients are kept, not sent.
    private var holdingMicroBatch = false
    private var microBatchesHeld = 0
    /// `distributed.allreduce_dtype: bf16` (Horovod's compression): each bucket's gradients travel
    /// as bf16, half the bytes, summed with each partial sum rounded to bf16 (MPI; threads of one
    /// process sum in Float32 and round once); bucket 0's controls go in a Float32 all-reduce of their own.
    public var compressesToBFloat16 = false {
        didSet {
            for buffer in compressed { buffer.deallocate() }
            compressed = compressesToBFloat16 ? buckets.map { .allocate(capacity: max(1, $0.gradientCount)) } : []
        }
    }
    /// Per bucket, its gradients as bf16 bits while they are all-reduced; empty without compression.
    private var compressed: [UnsafeMutablePointer<UInt16>] = []

    public init(parameters: [Parameter], capacityBytes: Int, communicator: Communicator) {
        self.communicator = communicator
        let capacity = max(1, capacityBytes / MemoryLayout<Float>.stride)
        var assignment = [Int](repeating: 0, count: parameters.count)
        var groups: [[Int]] = []
        var current: [Int] = [], currentCount = 0
        for index in parameters.indices.reversed() {
            let size = parameters[index].count
            if !current.isEmpty && currentCount + size > capacity {
                groups.append(current)
                current = []
                currentCount = 0
            }
            current.append(index)
            currentCount += size
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        for (bucketIndex, members) in groups.enumerated() {
            let gradientCount = members.reduce(0) { $0 + parameters[$1].count }
            let controls = bucketIndex == 0 ? Control.allCases.count + communicator.worldSize : 0
            let count = gradientCount + controls
            let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            storage.initialize(repeating: 0, count: max(count, 1))
            var offset = 0
            for index in members {
                parameters[index].gradient.bind(to: storage + offset)
                offset += parameters[index].count
                assignment[index] = bucketIndex
            }
            buckets.append(Bucket(storage: storage, count: count, gradientCount: gradientCount,
                                  parameterCount: members.count))
        }
        bucketOfParameter = assignment
    }

    deinit {
        for bucket in buckets { bucket.storage.deallocate() }
        for sum in accumulated { sum.deallocate() }
        for buffer in compressed { buffer.deallocate() }
    }

    /// Prepares gradient accumulation: memory for one more copy of the gradients.
    public func enableAccumulation() {
        guard accumulated.isEmpty else { return }
        accumulated = buckets.map { bucket in
            let sum = UnsafeMutablePointer<Float>.allocate(capacity: max(bucket.gradientCount, 1))
            sum.initialize(repeating: 0, count: max(bucket.gradientCount, 1))
            return sum
        }
    }

    /// Before a micro-batch's backward: all but the last keep their gradients for the step's sum.
    public func beginMicroBatch(isLast: Bool) {
        precondition(isLast || !accumulated.isEmpty, "enableAccumulation() before micro-batches")
        holdingMicroBatch = !isLast
    }

    /// After an earlier micro-batch's backward: adds its gradients to the step's sum.
    public func keepMicroBatchGradients() {
        for (index, bucket) in buckets.enumerated() {
            if microBatchesHeld == 0 {
                accumulated[index].update(from: bucket.storage, count: bucket.gradientCount)
            } else {
                Elementwise.add(accumulated[index], bucket.storage, into: accumulated[index],
                                count: bucket.gradientCount)
            }
        }
        microBatchesHeld += 1
    }

    /// The earlier micro-batches' gradients join the last one's in `index`'s memory.
    private func addHeldGradients(_ index: Int) {
        guard microBatchesHeld > 0 else { return }
        Elementwise.add(buckets[index].storage, accumulated[index], into: buckets[index].storage,
                        count: buckets[index].gradientCount)
    }

    public var bucketCount: Int { buckets.count }

    /// Hooks into `model`'s top-level layers so each bucket's all-reduce starts as soon as
    /// backward has finished the layers whose parameters fill it.
    public func attach(to model: Model) {
        guard let network = model.network as? Sequential else { return }
        let parameters = model.namedParameters().map(\.parameter)
        let owners = network.children.map { child in
            child.layer.namedParameters().map { owned in parameters.firstIndex { $0 === owned.parameter }! }
        }
        network.afterChildBackward = { [unowned self] in markReady(owners[$0]) }
    }

    /// This rank's controls for the step; call before backward.
    public func send(_ controls: StepControls) {
        setControl(.stopRequested, controls.stopRequested ? 1 : 0)
        setControl(.nonFiniteLoss, controls.nonFiniteLoss ? 1 : 0)
        setControl(.lossSum, Float(controls.lossSum))
        setControl(.correct, Float(controls.correct))
        setControl(.count, Float(controls.count))
        setControl(.replacedImages, Float(controls.replacedImages))
        buckets[0].storage[buckets[0].gradientCount + Control.allCases.count + communicator.rank] =
            Float(lastWaitSeconds * 1000)
    }

    /// After `finishStep`: the controls summed over all ranks.
    public var summedControls: StepControls {
        StepControls(stopRequested: controlSum(.stopRequested) > 0, nonFiniteLoss: controlSum(.nonFiniteLoss) > 0,
                     lossSum: Double(controlSum(.lossSum)), correct: Double(controlSum(.correct)),
                     count: Double(controlSum(.count)), replacedImages: Int(controlSum(.replacedImages)))
    }

    private func setControl(_ control: Control, _ value: Float) {
        buckets[0].storage[buckets[0].gradientCount + control.rawValue] = value
    }

    private func controlSum(_ control: Control) -> Float {
        buckets[0].storage[buckets[0].gradientCount + control.rawValue]
    }

    public func beginStep() {
        let controls = buckets[0].storage + buckets[0].gradientCount
        controls.update(repeating: 0, count: buckets[0].count - buckets[0].gradientCount)
        for index in buckets.indices {
            buckets[index].remaining = buckets[index].parameterCount
            buckets[index].request = nil
            buckets[index].controlRequest = nil
        }
        holdingMicroBatch = false
        microBatchesHeld = 0
    }

    /// Marks parameters whose gradients backward has finished; starts every bucket that became complete.
    func markReady(_ parameterIndices: [Int]) {
        guard communicator.worldSize > 1, !holdingMicroBatch else { return }
        for parameter in parameterIndices {
            let b = bucketOfParameter[parameter]
            buckets[b].remaining -= 1
            if buckets[b].remaining == 0 { start(b) }
        }
        communicator.progress()
    }

    private func start(_ index: Int) {
        addHeldGradients(index)
        let bucket = buckets[index]
        if !compressed.isEmpty {
            BFloat16Rounding.convert(bucket.storage, into: compressed[index], count: bucket.gradientCount)
            buckets[index].request = communicator.startAllReduceSumBFloat16(
                UnsafeMutableBufferPointer(start: compressed[index], count: bucket.gradientCount), bucket: index)
            if bucket.count > bucket.gradientCount {
                buckets[index].controlRequest = communicator.startAllReduceSum(
                    UnsafeMutableBufferPointer(start: bucket.storage + bucket.gradientCount,
                                               count: bucket.count - bucket.gradientCount), bucket: index)
            }
            return
        }
        buckets[index].request = communicator.startAllReduceSum(
            UnsafeMutableBufferPointer(start: bucket.storage, count: bucket.count), bucket: index)
    }

    /// Completes every bucket's all-reduce and turns the sums into averages over ranks.
    public func finishStep() {
        guard communicator.worldSize > 1 else {
            for index in buckets.indices { addHeldGradients(index) }
            return
        }
        let waitStart = DispatchTime.now().uptimeNanoseconds
        // Buckets start in index order, so any not started yet (a parameter unused in
        // this step) are started in the same order on every rank.
        for index in buckets.indices where buckets[index].request == nil { start(index) }
        for bucket in buckets {
            bucket.request?.wait()
            bucket.controlRequest?.wait()
        }
        lastWaitSeconds = Double(DispatchTime.now().uptimeNanoseconds - waitStart) / 1e9
        for (index, bucket) in buckets.enumerated() where !compressed.isEmpty {
            BFloat16Rounding.expand(compressed[index], into: bucket.storage, count: bucket.gradientCount)
        }
        let waits = buckets[0].storage + buckets[0].gradientCount + Control.allCases.count
        let recorded = (0..<communicator.worldSize).contains { waits[$0] > 0 }
        lastToArrive = recorded ? (0..<communicator.worldSize).min { waits[$0] < waits[$1] } : nil
        let scale = 1 / Float(communicator.worldSize)
        for bucket in buckets { Elementwise.scale(bucket.storage, by: scale, count: bucket.gradientCount) }
    }
}
