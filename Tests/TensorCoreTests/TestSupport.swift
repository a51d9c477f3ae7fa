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

/// Geometries for each kind of kernel: a 3x3 same convolution (direct, Winograd, lowered),
/// a 1x1 on 5x5 images (several images per lowered chunk), a 7x7 stride-2 stem (banded when
/// `bandBytes` is small), a grouped 3x3, a 3x3 on 16x16 with 32 channels (Winograd 4x4), and
/// for the bf16 GEMM's lowering of bits: a 3x3 stride 2 (rows of 17 outputs), a 1x1 stride 2
/// (rows of 8) and a 1x1 on 12x12 (one image per chunk: the image itself is the operand),
/// also grouped (each group's operand starts inside the image); and a kernel covering the
/// whole input (the batch as one fully connected product, reading bits where they lie).
let kernelGeometries: [ConvolutionGeometry] = [
    try! ConvolutionGeometry(
        batch: 3, inChannels: 5, inHeight: 9, inWidth: 12, outChannels: 7,
        kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
    try! ConvolutionGeometry(
        batch: 5, inChannels: 8, inHeight: 5, inWidth: 5, outChannels: 12, kernelHeight: 1, kernelWidth: 1),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 3, inHeight: 40, inWidth: 38, outChannels: 16,
        kernelHeight: 7, kernelWidth: 7, strideHeight: 2, strideWidth: 2, padHeight: 3, padWidth: 3),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 12, inHeight: 6, inWidth: 10, outChannels: 18,
        kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1, groups: 3),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 32, inHeight: 16, inWidth: 16, outChannels: 32,
        kernelHeight: 3, kernelWidth: 3, padHeight: 1, padWidth: 1),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 16, inHeight: 16, inWidth: 34, outChannels: 32,
        kernelHeight: 3, kernelWidth: 3, strideHeight: 2, strideWidth: 2, padHeight: 1, padWidth: 1),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 20, inHeight: 16, inWidth: 16, outChannels: 24,
        kernelHeight: 1, kernelWidth: 1, strideHeight: 2, strideWidth: 2),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 20, inHeight: 12, inWidth: 12, outChannels: 24, kernelHeight: 1, kernelWidth: 1),
    try! ConvolutionGeometry(
        batch: 2, inChannels: 12, inHeight: 12, inWidth: 12, outChannels: 18, kernelHeight: 1, kernelWidth: 1,
        groups: 3),
    try! ConvolutionGeometry(
        batch: 3, inChannels: 8, inHeight: 4, inWidth: 4, outChannels: 10, kernelHeight: 4, kernelWidth: 4),
]

/// Runs `body` with lowering bands of 4 KiB (at least 16 pixels), so that the stem in
/// `kernelGeometries` is lowered band by band.
func withSmallBands(_ body: () -> Void) {
    let savedBandBytes = Convolution.bandBytes, savedMinimum = Convolution.bandMinimumPixels
    Convolution.bandBytes = 4 * 1024
    Convolution.bandMinimumPixels = 16
    defer {
        Convolution.bandBytes = savedBandBytes
        Convolution.bandMinimumPixels = savedMinimum
    }
    body()
}
