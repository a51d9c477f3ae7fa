import TensorCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs an element-wise layer's body over 0..<count in large parallel chunks, allocating
/// nothing (see `ParallelBody`).
@inline(__always)
func forEachElement<Body: ParallelBody>(_ count: Int, _ body: Body) {
    Parallel.forEachRange(count, minimumChunk: 1 << 14, body)
}

/// The C library's single-precision functions, named once for every platform.
enum FloatMath {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}
