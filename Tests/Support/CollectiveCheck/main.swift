// Run under mpirun by DistributedTests: checks MPI collectives (Float32, and the bf16 sum) on odd
// sizes and several buckets in flight, prints "collectives ok ranks=N" on rank 0, exits 1 on any mismatch.
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
// bf16 sums (distributed.allreduce_dtype: bf16): small integers add exactly in bf16; values that do
// not must still come out bit-identical on every rank.
func bf16Bits(_ value: Float) -> UInt16 { UInt16(value.bitPattern >> 16) }  // exact for these values
for size in sizes {
    var exact = (0..<size).map { bf16Bits(Float(($0 % 7 + 1) * (rank + 1))) }
    var inexact = (0..<size).map { i in
        bf16Bits(Float(bitPattern: Float(sin(Double(i * (rank + 1)))).bitPattern & 0xFFFF_0000))
    }
    let first = exact.withUnsafeMutableBufferPointer { communicator.startAllReduceSumBFloat16($0, bucket: 0) }
    let second = inexact.withUnsafeMutableBufferPointer { communicator.startAllReduceSumBFloat16($0, bucket: 1) }
    first.wait()
    second.wait()
    for i in 0..<size where exact[i] != bf16Bits(Float(i % 7 + 1) * factor) {
        failures.append("bf16 all-reduce size \(size): [\(i)] = \(exact[i]), expected \(Float(i % 7 + 1) * factor)")
        break
    }
    let checksum = Double(inexact.reduce(0) { $0 &+ UInt64($1) })
    if Set(communicator.allGather(checksum)).count != 1 {
        failures.append("bf16 all-reduce size \(size): ranks differ")
    }
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
