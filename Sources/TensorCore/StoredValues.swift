// Reading a tensor's values as Float32 whatever its element (`TensorElement`): loops written
// once over `StoredValues` compile to a Float32 load, or to a bf16 load widened by a shift
// (exact), with nothing decided per value.

/// Values at a base address, read as Float32.
public protocol StoredValues {
    func load(_ index: Int) -> Float
    /// Values index ..< index + 8.
    func load8(_ index: Int) -> SIMD8<Float>
    /// Asks for values index ..< index + count to be brought into the cache.
    func prefetch(_ index: Int, count: Int)
}

/// Float32 values.
public struct Float32Values: StoredValues {
    public let base: UnsafePointer<Float>

    @inlinable public init(_ base: UnsafePointer<Float>) { self.base = base }

    @inlinable @inline(__always)
    public func load(_ index: Int) -> Float { base[index] }

    @inlinable @inline(__always)
    public func load8(_ index: Int) -> SIMD8<Float> {
        UnsafeRawPointer(base + index).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    public func prefetch(_ index: Int, count: Int) {
        Prefetch.forReading(base + index, bytes: count * MemoryLayout<Float>.stride)
    }
}

/// bf16 bits, value i at byte 2·i, widened to the Float32 they stand for.
public struct BFloat16Values: StoredValues {
    public let base: UnsafeRawPointer

    @inlinable public init(_ base: UnsafeRawPointer) { self.base = base }

    @inlinable @inline(__always)
    public func load(_ index: Int) -> Float {
        Float(bitPattern: UInt32(base.load(fromByteOffset: 2 * index, as: UInt16.self)) << 16)
    }

    @inlinable @inline(__always)
    public func load8(_ index: Int) -> SIMD8<Float> {
        let bits = base.loadUnaligned(fromByteOffset: 2 * index, as: SIMD8<UInt16>.self)
        return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: bits) &<< 16, to: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    public func prefetch(_ index: Int, count: Int) {
        Prefetch.forReading(base + 2 * index, bytes: 2 * count)
    }
}
