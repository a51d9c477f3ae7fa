// Tensor: a shape and contiguous, row-major Float32 storage (NCHW for images), or bf16 bits
// at half the bytes where a bf16 (autocast) layer stores its output for a layer that reads it
// as such (`TensorElement`).
//
// A reference type over manually allocated memory: layers keep their output and
// gradient tensors and overwrite them every step, so a warm training step allocates
// nothing, and hot loops work on raw pointers without copy-on-write or ARC traffic.

/// What a tensor's storage holds.
public enum TensorElement: Sendable {
    /// Float32 values: `pointer`.
    case float32
    /// bfloat16 bits, 2 bytes a value (`bfloat16Bits`): a bf16 activation kept at its own size.
    /// Only layers that read bf16 receive such a tensor; `pointer` refuses it.
    case bfloat16

    /// Floats of storage `count` values of this element take.
    func storageFloats(_ count: Int) -> Int { self == .float32 ? count : (count + 1) / 2 }
}

public final class Tensor {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    public private(set) var element = TensorElement.float32
    /// Where the values live: memory of this tensor's own, or memory it takes turns to use
    /// with other tensors (`share(_:)`), or memory someone else owns (`bind(to:)`).
    private var storage: TensorStorage

    /// Allocated capacity in Float32 slots (a `.bfloat16` tensor fits two values in one);
    /// `reshape` within it never reallocates.
    public var capacity: Int { storage.capacity }
    public var data: UnsafeMutablePointer<Float> {
        precondition(element == .float32, "a tensor of bf16 bits \(shape) read as Float32 values")
        return storage.data
    }
    /// The bf16 bits of a `.bfloat16` tensor, value i at byte 2·i.
    public var bfloat16Bits: UnsafeMutableRawPointer {
        precondition(element == .bfloat16, "a Float32 tensor \(shape) read as bf16 bits")
        return UnsafeMutableRawPointer(storage.data)
    }
    /// False once the tensor lives inside memory owned by someone else (see `bind(to:)`).
    public var ownsStorage: Bool { storage.ownsMemory }

    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = TensorStorage(capacity: count)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    public convenience init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        data.update(repeating: value, count: count)
    }

    /// Moves this tensor's contents into `storage` (at least `count` elements, owned and kept
    /// alive by the caller) and uses it from now on. Gradient buckets use this so that every
    /// parameter's gradient is written straight into a contiguous all-reduce buffer.
    public func bind(to external: UnsafeMutablePointer<Float>) {
        external.update(from: data, count: count)
        storage = TensorStorage(external: external, capacity: count)
    }

    /// Uses `shared` from now on, memory that other tensors use at other times (input
    /// gradients whose lifetimes do not overlap, see NN's GradientBufferPlan). The contents
    /// are not carried over; a growing `reshape` grows the shared memory for all its users.
    public func share(_ shared: TensorStorage) {
        precondition(storage.ownsMemory, "a tensor bound to external memory cannot share storage")
        storage = shared
        shared.reserve(count)
    }

    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { data }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    /// The values as Float32 (bf16 bits widened: exact).
    public var array: [Float] {
        element == .float32 ? Array(buffer) : (0..<count).map(value(at:))
    }

    /// Value `index` as Float32, whatever the element.
    public func value(at index: Int) -> Float {
        guard element == .bfloat16 else { return data[index] }
        return BFloat16(bitPattern: bfloat16Bits.load(fromByteOffset: 2 * index, as: UInt16.self)).floatValue
    }

    public subscript(index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    /// Changes the shape; grows the storage only when the new shape needs more room.
    /// Contents are unspecified after a growing reshape.
    /// `reshape([d0, d1])` without building an array when the shape is unchanged: layers call
    /// this every step, and a warm step must not allocate.
    public func reshape(_ d0: Int, _ d1: Int) {
        if shape.count == 2 && shape[0] == d0 && shape[1] == d1 { return }
        reshape([d0, d1])
    }

    /// `reshape([d0, d1, d2, d3])` without building an array when the shape is unchanged.
    public func reshape(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int, element: TensorElement = .float32) {
        if shape.count == 4 && shape[0] == d0 && shape[1] == d1 && shape[2] == d2 && shape[3] == d3
            && self.element == element
        {
            return
        }
        reshape([d0, d1, d2, d3], element: element)
    }

    /// A new shape, and what the storage holds from now on (a Float32 tensor unless told).
    public func reshape(_ newShape: [Int], element: TensorElement = .float32) {
        let newCount = newShape.reduce(1, *)
        let floats = element.storageFloats(newCount)
        if floats > capacity {
            precondition(ownsStorage, "cannot grow a tensor bound to external storage (\(shape) → \(newShape))")
            storage.reserve(floats)
        }
        shape = newShape
        count = newCount
        self.element = element
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
    public func zero() { fill(0) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func clone() -> Tensor {
        let t = Tensor(shape: element == .bfloat16 ? [0] : shape)
        guard element == .bfloat16 else {
            t.copy(from: self)
            return t
        }
        t.reshape(shape, element: .bfloat16)
        t.bfloat16Bits.copyMemory(from: bfloat16Bits, byteCount: 2 * count)
        return t
    }
}

/// Float memory behind one tensor, or behind several that take turns (`Tensor.share(_:)`).
public final class TensorStorage {
    public private(set) var data: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int
    /// False for memory someone else allocated and frees (`Tensor.bind(to:)`).
    public let ownsMemory: Bool

    /// Zero-filled memory for `capacity` elements (at least one, so `data` is always valid).
    public init(capacity: Int = 0) {
        self.capacity = Swift.max(capacity, 1)
        data = .allocate(capacity: self.capacity)
        data.initialize(repeating: 0, count: self.capacity)
        ownsMemory = true
    }

    init(external: UnsafeMutablePointer<Float>, capacity: Int) {
        data = external
        self.capacity = capacity
        ownsMemory = false
    }

    deinit { if ownsMemory { data.deallocate() } }

    /// Room for at least `count` elements; growing discards the contents (zero-filled anew).
    public func reserve(_ count: Int) {
        guard count > capacity else { return }
        precondition(ownsMemory, "cannot grow memory owned elsewhere (\(capacity) → \(count) elements)")
        data.deallocate()
        capacity = count
        data = .allocate(capacity: count)
        data.initialize(repeating: 0, count: count)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = (0..<Swift.min(count, 8)).map { String(value(at: $0)) }.joined(separator: ", ")
        let kind = element == .bfloat16 ? " bf16" : ""
        return "Tensor(\(shape)\(kind): [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
