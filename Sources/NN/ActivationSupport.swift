#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

/// Runs `body(i)` for i in 0..<count in large parallel chunks (element-wise layers).
@inline(__always)
func forEachElement(_ count: Int, _ body: (Int) -> Void) {
    Parallel.forEachRange(count, minimumChunk: 1 << 14) { range in
        for i in range { body(i) }
    }
}

/// The C library's single-precision functions, named once for every platform.
enum FloatMath {
    @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}
