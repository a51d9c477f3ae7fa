import TestSupport
import XCTest

/// MPI collectives under a real `mpirun`, at 2 and 4 ranks, on shared memory and on TCP.
final class MPICollectiveTests: XCTestCase {
    func runCheck(ranks: Int, extra: [String] = []) throws {
        let mpirun = try XCTUnwrap(ProcessRunner.mpirunPath, "mpirun not found: install openmpi-bin (launch/prerequisites.sh)")
        let result = try ProcessRunner.run(mpirun, ProcessRunner.mpirunArguments(ranks: ranks, extra: extra)
                                           + [ProcessRunner.product("collective-check")], timeout: 120)
        XCTAssertEqual(result.status, 0, "stdout: \(result.output)\nstderr: \(result.error)")
        XCTAssertTrue(result.output.contains("collectives ok ranks=\(ranks)"), result.output + result.error)
    }

    func testTwoRanks() throws { try runCheck(ranks: 2) }
    func testFourRanks() throws { try runCheck(ranks: 4) }
    func testFourRanksOverTCP() throws { try runCheck(ranks: 4, extra: ["--mca", "btl", "self,tcp"]) }
}
