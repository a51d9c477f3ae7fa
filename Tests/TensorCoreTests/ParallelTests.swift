import Dispatch
import Foundation
import XCTest

@testable import TensorCore

/// The worker pool behind `Parallel`: every index runs exactly once, on any thread count,
/// with callers from several threads at once (in-process ranks) and nested regions.
final class ParallelTests: XCTestCase {
    override func tearDown() { Parallel.threadCount = Parallel.onlineCores }

    func counts(_ count: Int) -> [Int] {
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        hits.initialize(repeating: 0)
        defer { hits.deallocate() }
        Parallel.forEach(count) { hits[$0] += 1 }
        return Array(hits)
    }

    func testEveryIndexOnceOnEveryThreadCount() {
        for threads in 1...4 {
            Parallel.threadCount = threads
            for count in [0, 1, 2, 3, 7, 64, 1_001] {
                XCTAssertEqual(counts(count), Array(repeating: 1, count: count), "threads \(threads), count \(count)")
            }
            var covered = [Int](repeating: 0, count: 103)
            covered.withUnsafeMutableBufferPointer { hits in
                Parallel.forEachRange(103, minimumChunk: 10) { range in for i in range { hits[i] += 1 } }
            }
            XCTAssertEqual(covered, Array(repeating: 1, count: 103))
        }
    }

    func testRepeatedRegionsReuseTheWorkers() {
        Parallel.threadCount = 3
        for round in 0..<2_000 {
            let sum = UnsafeMutablePointer<Int>.allocate(capacity: 3)
            sum.initialize(repeating: 0, count: 3)
            Parallel.forEach(3) { sum[$0] = $0 + round }
            XCTAssertEqual(sum[0] + sum[1] + sum[2], 3 + 3 * round)
            sum.deallocate()
        }
    }

    /// Regions that use fewer workers than the pool has, then more: a worker the small region
    /// left idle can be late reading it while the next region is being written, and must not
    /// run a part of that one early and then again. Each part counts its runs (a part run twice
    /// adds 2); over many regions one double run shows.
    func testEveryPartOnceWhenRegionSizesAlternate() {
        XCTAssertEqual(regionsWithAPartNotRunOnce(rounds: 20_000), 0)
    }

    /// The same with workers that never spin: every wait sleeps on the condition variable. A
    /// woken worker the last region did not use can wake late, while the caller is already
    /// writing the next region; it must not run its part of that one before it is published
    /// and again after (the seqlock design did, until f4178ca).
    func testEveryPartOnceWhenIdleWorkersSleep() {
        let spinLimit = WorkerPool.spinLimit
        WorkerPool.spinLimit = 0
        defer { WorkerPool.spinLimit = spinLimit }
        XCTAssertEqual(regionsWithAPartNotRunOnce(rounds: 20_000), 0)
    }

    /// Runs regions of 1, 2, 4, 3 parts in turn on 4 threads; the number of regions where some
    /// part did not run exactly once.
    private func regionsWithAPartNotRunOnce(rounds: Int) -> Int {
        Parallel.threadCount = 4
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        defer { hits.deallocate() }
        var wrong = 0
        for round in 0..<rounds {
            let parts = [1, 2, 4, 3][round % 4]
            hits.initialize(repeating: 0)
            Parallel.forEachRange(parts, CountRuns(hits: hits))
            if Array(hits.prefix(parts)) != Array(repeating: 1, count: parts) { wrong += 1 }
        }
        return wrong
    }

    private struct CountRuns: ParallelBody {
        let hits: UnsafeMutableBufferPointer<Int>
        func run(_ range: Range<Int>) { for i in range { hits[i] += 1 } }
    }

    func testConcurrentCallersAndNestedRegions() {
        Parallel.threadCount = 2
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
        results.initialize(repeating: 0)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            var total = 0
            for _ in 0..<200 {
                let partial = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
                partial.initialize(repeating: 0)
                Parallel.forEach(8) { i in
                    // A nested region runs too (the pool is busy: Dispatch takes it).
                    var inner = 0
                    Parallel.forEach(4) { _ in }
                    inner = i
                    partial[i] = inner
                }
                total += partial.reduce(0, +)
                partial.deallocate()
            }
            results[caller] = total
        }
        XCTAssertEqual(Array(results), Array(repeating: 200 * 28, count: 4))
    }
}
