import Distributed
import Foundation
import Reports
import Train

/// Float32 sum all-reduce timing, reported as nccl-tests reports all-reduce:
/// algbw = bytes / time, busbw = algbw × 2(n−1)/n (the bandwidth each link needs for a
/// ring all-reduce, comparable across rank counts). One JSON line per size on rank 0.
public enum AllReduceBenchmark {
    public struct Result: Encodable, Sendable {
        public var bytes: Int
        public var ranks: Int
        public var iterations: Int
        /// Mean time of one all-reduce, on the slowest rank.
        public var microseconds: Double

        public init(bytes: Int, ranks: Int, iterations: Int, microseconds: Double) {
            self.bytes = bytes
            self.ranks = ranks
            self.iterations = iterations
            self.microseconds = microseconds
        }

        /// GB/s (10^9 bytes per second), as nccl-tests.
        public var algorithmBandwidth: Double {
            ranks > 1 && microseconds > 0 ? Double(bytes) / (microseconds * 1e-6) / 1e9 : 0
        }

        public var busBandwidth: Double {
            algorithmBandwidth * 2 * Double(ranks - 1) / Double(ranks)
        }

        enum CodingKeys: String, CodingKey {
            case bytes, ranks, iterations, microseconds = "time_us", algorithmBandwidth = "algbw_gbps"
            case busBandwidth = "busbw_gbps", note
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(ranks, forKey: .ranks)
            try c.encode(iterations, forKey: .iterations)
            try c.encodeNumber(rounded(microseconds, places: 2), forKey: .microseconds)
            try c.encodeNumber(rounded(algorithmBandwidth, places: 3), forKey: .algorithmBandwidth)
            try c.encodeNumber(rounded(busBandwidth, places: 3), forKey: .busBandwidth)
            if ranks == 1 { try c.encode("single process: all-reduce is a no-op, bandwidths are 0", forKey: .note) }
        }

        public var jsonLine: String { JSONLines.encode(self) }
    }

    /// Runs under mpirun (MPI ranks) or as one process; returns the JSON lines on rank 0, nil elsewhere.
    public static func launch(sizes: [Int], iterations: Int, warmup: Int) throws -> [String]? {
        let communicator: Communicator = MPICommunicator.launchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
        let results = TrainingLauncher.runOrAbort(communicator) {
            try run(sizes: sizes, iterations: iterations, warmup: warmup, communicator: communicator)
        }
        communicator.finish()
        return communicator.isCoordinator ? results.map(\.jsonLine) : nil
    }

    public static func run(sizes: [Int], iterations: Int, warmup: Int, communicator: Communicator) throws -> [Result] {
        guard iterations > 0, warmup >= 0 else { throw BenchmarkError.invalid("iterations must be > 0 and warmup >= 0") }
        return try sizes.map { bytes in
            guard bytes > 0, bytes % MemoryLayout<Float>.size == 0 else {
                throw BenchmarkError.invalid("size \(bytes) is not a positive multiple of 4 bytes (Float32)")
            }
            let count = bytes / MemoryLayout<Float>.size
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            defer { buffer.deallocate() }
            // Small values: sums over many iterations stay finite.
            buffer.initialize(repeating: 1e-6 * Float(communicator.rank + 1))
            for _ in 0..<warmup { communicator.allReduceSum(buffer) }
            communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { communicator.allReduceSum(buffer) }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3 / Double(iterations)
            let slowest = communicator.allGather(elapsed).max() ?? elapsed
            return Result(bytes: bytes, ranks: communicator.worldSize, iterations: iterations, microseconds: slowest)
        }
    }

    public enum BenchmarkError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let message): return message }
        }
    }
}
