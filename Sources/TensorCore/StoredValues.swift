// Reading and writing a tensor's values as Float32 whatever its element (`TensorElement`):
// loops written once over `StoredValues` and `ValueDestination` compile to Float32 loads and
// stores, or to bf16 loads widened by a shift and stores of the top half, with nothing decided
// per value.

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

/// Where values go, given as Float32.
public protocol ValueDestination {
    func store(_ value: Float, at index: Int)
}

/// Float32 values.
public struct Float32Destination: ValueDestination {
    public let base: UnsafeMutablePointer<Float>

    @inlinable public init(_ base: UnsafeMutablePointer<Float>) { self.base = base }

    @inlinable @inline(__always)
    public func store(_ value: Float, at index: Int) { base[index] = value }
}

/// bf16 bits, value i at byte 2·i: the top half of each value, which must be a bf16 value
/// already (rounded), so nothing is lost.
public struct BFloat16Destination: ValueDestination {
    public let base: UnsafeMutableRawPointer

    @inlinable public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable @inline(__always)
    public func store(_ value: Float, at index: Int) {
        base.storeBytes(of: UInt16(truncatingIfNeeded: value.bitPattern >> 16), toByteOffset: 2 * index,
                        as: UInt16.self)
    }
}
