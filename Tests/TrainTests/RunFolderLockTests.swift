import Foundation
import TestSupport
import TrainingFixtures
import XCTest

@testable import Train

/// One run per folder: a second writer is refused naming the holder; a dead holder's lock is no
/// obstacle.
final class RunFolderLockTests: XCTestCase {
    func testASecondLockIsRefusedNamingTheHolder() throws {
        let folder = ProcessRunner.temporaryDirectory("lock-twice")
        let first = try RunFolderLock(folder: folder)
        XCTAssertThrowsError(try RunFolderLock(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("is in use by another run (pid \(getpid()) on host "), "\(error)")
        }
        first.release()
        XCTAssertNoThrow(try RunFolderLock(folder: folder))
    }

    func testAnotherProcessHoldingTheFolderStopsATrainerBeforeItWrites() throws {
        let folder = ProcessRunner.temporaryDirectory("lock-held")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [folder + "/.lock", "sleep", "30"]
        try holder.run()
        defer {
            holder.terminate()
            holder.waitUntilExit()
        }
        // Until flock(1) holds the lock, our own attempt succeeds (and is released at once).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? RunFolderLock(folder: folder)) != nil { usleep(20_000) }
        let config = TrainingFixtures.smallSynthetic(runDirectory: folder)
        XCTAssertThrowsError(try Trainer(config: config, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("\(folder): is in use by another run"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/config.yaml"), "nothing written")
        holder.terminate()
        holder.waitUntilExit()
        XCTAssertNoThrow(try TrainingLauncher.run(config: config, log: { _ in }))
    }

    func testARecordLeftByADeadProcessDoesNotBlock() throws {
        let folder = ProcessRunner.temporaryDirectory("lock-stale")
        // A killed run leaves its record, but the kernel has dropped its flock.
        try "pid 999999 on host \(ProcessInfo.processInfo.hostName) since 2026-01-01T00:00:00Z\n"
            .write(toFile: folder + "/.lock", atomically: true, encoding: .utf8)
        let lock = try RunFolderLock(folder: folder)
        XCTAssertTrue(try String(contentsOfFile: folder + "/.lock", encoding: .utf8).hasPrefix("pid \(getpid()) "))
        lock.release()
        XCTAssertEqual(try String(contentsOfFile: folder + "/.lock", encoding: .utf8), "", "released: no holder named")
    }
}
