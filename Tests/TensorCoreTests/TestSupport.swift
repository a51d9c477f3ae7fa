import XCTest

@testable import TensorCore

/// Random floats in [-1, 1) from a fixed seed.
func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var random = RandomGenerator(seed: seed)
    return (0..<count).map { _ in random.uniform(-1, 1) }
}

/// Asserts |actual − expected| ≤ tolerance · max(1, |expected|) element-wise.
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-4, _ message: @autoclosure () -> String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "count: \(message())", file: file, line: line)
    for i in 0..<Swift.min(actual.count, expected.count) {
        let error = abs(actual[i] - expected[i])
        if !(error <= tolerance * Swift.max(1, abs(expected[i]))) {
            XCTFail("element \(i): \(actual[i]) vs expected \(expected[i]) — \(message())", file: file, line: line)
            return
        }
    }
}

/// Runs `body` with `Parallel.threadCount` set, restoring it afterwards.
func withThreadCount(_ threads: Int, _ body: () throws -> Void) rethrows {
    let saved = Parallel.threadCount
    Parallel.threadCount = threads
    defer { Parallel.threadCount = saved }
    try body()
}

/// Runs `body` with the GEMM (and the direct convolution) using the `shape` register tile,
/// whatever the build was compiled for: both kernels run correctly anywhere, only slower on
/// a CPU with fewer vector registers than the tile needs.
func withKernelShape(_ shape: GEMMKernelShape, _ body: () throws -> Void) rethrows {
    let saved = GEMM.kernelShape
    GEMM.kernelShape = shape
    defer { GEMM.kernelShape = saved }
    try body()
}

/// Runs `body` with GEMM splitting even tiny products across threads, so small test
/// shapes exercise the multi-threaded path.
func withTinyGEMMThreshold(_ body: () throws -> Void) rethrows {
    let saved = GEMM.workPerThread
    GEMM.workPerThread = 1
    defer { GEMM.workPerThread = saved }
    try body()
}
