// Tensor: a shape and contiguous, row-major Float32 storage (NCHW for images).
//
// A reference type over manually allocated memory: layers keep their output and
// gradient tensors and overwrite them every step, so a warm training step allocates
// nothing, and hot loops work on raw pointers without copy-on-write or ARC traffic.

public final class Tensor {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    /// Allocated capacity in elements; `reshape` within it never reallocates.
    public private(set) var capacity: Int
    public private(set) var data: UnsafeMutablePointer<Float>
    /// False once the tensor lives inside memory owned by someone else (see `bind(to:)`).
    public private(set) var ownsStorage = true

    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.capacity = Swift.max(count, 1)
        self.data = .allocate(capacity: capacity)
        self.data.initialize(repeating: 0, count: capacity)
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

    deinit { if ownsStorage { data.deallocate() } }

    /// Moves this tensor's contents into `storage` (at least `count` elements, owned and kept
    /// alive by the caller) and uses it from now on. Gradient buckets use this so that every
    /// parameter's gradient is written straight into a contiguous all-reduce buffer.
    public func bind(to storage: UnsafeMutablePointer<Float>) {
        storage.update(from: data, count: count)
        if ownsStorage { data.deallocate() }
        data = storage
        capacity = count
        ownsStorage = false
    }

    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { data }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }
    public var array: [Float] { Array(buffer) }

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
    public func reshape(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int) {
        if shape.count == 4 && shape[0] == d0 && shape[1] == d1 && shape[2] == d2 && shape[3] == d3 { return }
        reshape([d0, d1, d2, d3])
    }

    public func reshape(_ newShape: [Int]) {
        let newCount = newShape.reduce(1, *)
        if newCount > capacity {
            precondition(ownsStorage, "cannot grow a tensor bound to external storage (\(shape) → \(newShape))")
            data.deallocate()
            capacity = newCount
            data = .allocate(capacity: capacity)
            data.initialize(repeating: 0, count: capacity)
        }
        shape = newShape
        count = newCount
    }

    public func fill(_ value: Float) { data.update(repeating: value, count: count) }
    public func zero() { fill(0) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func clone() -> Tensor {
        let t = Tensor(shape: shape)
        t.copy(from: self)
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = (0..<Swift.min(count, 8)).map { String(data[$0]) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
