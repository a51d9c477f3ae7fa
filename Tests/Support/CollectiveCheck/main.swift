// Run under mpirun by DistributedTests: checks MPI collectives on odd sizes and several
// buckets in flight, prints "collectives ok ranks=N" on rank 0, exits 1 on any mismatch.
import Distributed

#if canImport(Glibc)
import Glibc
#endif

let communicator = try MPICommunicator()
let ranks = communicator.worldSize, rank = communicator.rank
var failures: [String] = []
let sizes = [0, 1, 7, 1_000_003]
// All four buffers in flight at once, as gradient buckets are.
var buffers = sizes.map { size in (0..<size).map { Float(($0 % 1000) * (rank + 1)) } }
var requests: [CollectiveRequest] = []
for index in buffers.indices {
    requests.append(buffers[index].withUnsafeMutableBufferPointer { communicator.startAllReduceSum($0, bucket: index) })
    communicator.progress()
}
for request in requests { request.wait() }
let factor = Float(ranks * (ranks + 1) / 2)
for (size, values) in zip(sizes, buffers) {
    for i in 0..<size where values[i] != Float(i % 1000) * factor {
        failures.append("all-reduce size \(size): [\(i)] = \(values[i]), expected \(Float(i % 1000) * factor)")
        break
    }
}
for size in sizes {
    var values = [Float](repeating: Float(rank + 1), count: size)
    values.withUnsafeMutableBufferPointer { communicator.allReduceSum($0) }
    if let bad = values.first(where: { $0 != factor }) { failures.append("blocking all-reduce size \(size): \(bad)") }
    var broadcast = [Float](repeating: Float(rank), count: size)
    broadcast.withUnsafeMutableBufferPointer { communicator.broadcast($0, root: ranks - 1) }
    if let bad = broadcast.first(where: { $0 != Float(ranks - 1) }) { failures.append("broadcast size \(size): \(bad)") }
}
var doubles = [Double(rank), 0.25]
communicator.allReduceSum(&doubles)
if doubles != [Double(ranks * (ranks - 1) / 2), 0.25 * Double(ranks)] { failures.append("double all-reduce: \(doubles)") }
if communicator.allGather(Double(rank)) != (0..<ranks).map(Double.init) { failures.append("all-gather") }
var failed = [Double(failures.isEmpty ? 0 : 1)]
communicator.allReduceSum(&failed)
for failure in failures { fputs("[rank \(rank)] \(failure)\n", stderr) }
if rank == 0 && failed[0] == 0 { print("collectives ok ranks=\(ranks)") }
communicator.finish()
exit(failed[0] == 0 ? 0 : 1)
