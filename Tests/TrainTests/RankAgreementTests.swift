import Foundation
import TrainingFixtures
import XCTest

@testable import Configuration
@testable import Distributed
@testable import Train

/// Ranks compare what they run before the first step; any difference stops every rank with the
/// same list (facts, rank 0's value, the others and their ranks).
final class RankAgreementTests: XCTestCase {
    /// `verify` on a group of in-process ranks, each with its own facts; each rank's outcome.
    func verifyOnRanks(_ facts: [[String: String]]) throws -> [Result<Void, Error>] {
        let communicators = try InProcessCommunicator.makeGroup(size: facts.count)
        var outcomes = [Result<Void, Error>](repeating: .success(()), count: facts.count)
        let lock = NSLock()
        // One thread per rank: the ranks meet in barriers, so they must all run at once.
        let done = DispatchGroup()
        for rank in facts.indices {
            done.enter()
            Thread.detachNewThread {
                let outcome = Result { try RankAgreement.verify(facts[rank], communicator: communicators[rank]) }
                lock.withLock { outcomes[rank] = outcome }
                done.leave()
            }
        }
        done.wait()
        return outcomes
    }

    func testAgreeingRanksPass() throws {
        let facts = ["training.seed": "1", "model tensors": "10"]
        for outcome in try verifyOnRanks([facts, facts, facts]) { XCTAssertNoThrow(try outcome.get()) }
    }

    func testEveryRankReportsTheSameDifferences() throws {
        let base = ["training.seed": "1", "training.batch_size": "64", "optimizer.lr": "0.1"]
        var seed = base, batch = base, both = base
        seed["training.seed"] = "2"
        batch["training.batch_size"] = "32"
        both["training.seed"] = "2"
        both["training.batch_size"] = "128"
        both["extra"] = "x"
        let outcomes = try verifyOnRanks([base, seed, batch, both])
        var messages: [String] = []
        for outcome in outcomes {
            guard case .failure(let error) = outcome,
                case TrainError.ranksDisagree(let differences)? = error as? TrainError
            else { return XCTFail("every rank must throw ranksDisagree, got \(outcome)") }
            XCTAssertEqual(
                differences.map(\.description),
                [
                    "extra: (absent) on rank 0, x on rank(s) 3",
                    "training.batch_size: 64 on rank 0, 32 on rank(s) 2, 128 on rank(s) 3",
                    "training.seed: 1 on rank 0, 2 on rank(s) 1, 3",
                ])
            messages.append("\(error)")
        }
        XCTAssertEqual(Set(messages).count, 1)
    }

    func testFactsCoverWhatChangesTheNumbersAndLeaveLocalKeysOut() throws {
        let config = TrainingFixtures.smallSynthetic(runDirectory: "/tmp/a")
        let model = try ModelFactory.make(config.model, inputShape: [1, 28, 28], classes: 10)
        let facts = RankAgreement.facts(
            config: config, model: model, trainCount: 640, validationCount: 256,
            bucketCount: 1)
        XCTAssertEqual(facts["training.seed"], "5")
        XCTAssertEqual(facts["training.batch_size"], "64")
        XCTAssertEqual(facts["training images"], "640")
        XCTAssertNotNil(facts["cnn-dist build"])
        XCTAssertNotNil(facts["model tensors"])
        for local in ["run_dir", "training.threads", "data.workers", "distributed.timeout_s", "log_every"] {
            XCTAssertNil(facts[local], local)
        }
        var otherThreads = config
        otherThreads.training.threads = 8
        otherThreads.runDirectory = "/elsewhere"
        XCTAssertEqual(
            RankAgreement.facts(
                config: otherThreads, model: model, trainCount: 640, validationCount: 256,
                bucketCount: 1), facts)
    }
}
