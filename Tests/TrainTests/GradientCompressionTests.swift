import Dispatch
import Distributed
import Foundation
import XCTest

@testable import TensorCore
@testable import Train

/// `distributed.allreduce_dtype: bf16`: gradients rounded to bf16 before the sum and the sum
/// rounded after it; the step's controls (loss sums, counts) stay Float32.
final class GradientCompressionTests: XCTestCase {
    func testGradientsAreRoundedAroundTheSumAndControlsAreNot() throws {
        let gradients: [[Float]] = [[1 + 0x1p-9, 0.1, -3.3, 1e-3, 7], [1 + 0x1p-9, 0.2, 1.1, -2e-3, 1e5 + 1]]
        let group = try InProcessCommunicator.makeGroup(size: 2)
        let results = RankResults<([Float], Double)?>(ranks: 2, initial: nil)
        let done = DispatchGroup()
        for communicator in group {
            done.enter()
            Thread.detachNewThread {
                let parameter = Parameter(shape: [5])
                let buckets = GradientBuckets(
                    parameters: [parameter], capacityBytes: 1 << 20,
                    communicator: communicator)
                buckets.compressesToBFloat16 = true
                buckets.beginStep()
                for (i, value) in gradients[communicator.rank].enumerated() { parameter.gradient.pointer[i] = value }
                buckets.send(
                    StepControls(
                        stopRequested: false, nonFiniteLoss: false, lossSum: 1.2345678,
                        correct: 3, count: 8, replacedImages: 0))
                buckets.finishStep()
                results.store((parameter.gradient.array, buckets.summedControls.lossSum), rank: communicator.rank)
                done.leave()
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        let expected = (0..<5).map { i in
            BFloat16.round(BFloat16.round(gradients[0][i]) + BFloat16.round(gradients[1][i])) / 2
        }
        // 1 + 2⁻⁹ is not a bf16 (it rounds to 1); 1e5 + 1 rounds to 99840 (bf16 keeps 8 bits).
        XCTAssertEqual(expected[0], 1)
        for rank in 0..<2 {
            let (values, lossSum) = try XCTUnwrap(results.value(rank: rank))
            XCTAssertEqual(values, expected, "rank \(rank)")
            XCTAssertEqual(lossSum, Double(Float(1.2345678) * 2), "rank \(rank): the loss sum is not rounded to bf16")
        }
    }
}
