import XCTest

@testable import TensorCore

final class CPUFeaturesTests: XCTestCase {
    func testReadsTheFirstProcessorsFlags() {
        let cpuinfo = """
            processor\t: 0
            model name\t: Intel(R) Xeon(R) Platinum 8480+
            flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile
            processor\t: 1
            flags\t\t: fpu sse4_2
            """
        let features = CPUFeatures(cpuinfo: cpuinfo)
        XCTAssertEqual(
            features.relevantPresent,
            [
                "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile",
                "amx_bf16",
            ])
        XCTAssertTrue(features.flags.contains("fpu"))
        XCTAssertEqual(CPUFeatures(cpuinfo: "").relevantPresent, [])
    }

    func testThisMachineHasItsBaseline() {
        // Every x86-64 machine this project runs on has at least SSE4.2 (both CPUs seen here have AVX2).
        XCTAssertTrue(CPUFeatures.current.flags.contains("sse4_2"), "\(CPUFeatures.current.flags.sorted())")
    }
}
