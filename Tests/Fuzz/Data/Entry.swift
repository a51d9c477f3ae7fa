// libFuzzer target for FuzzTargets.data; without libFuzzer, a replayer of the files it is given.
import FuzzTargets

#if canImport(Glibc)
import Glibc
#endif

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.data(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_cdecl("fuzz_data_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzTargets.runDriver(argc, argv, fuzzOneInput)
}
#else
@main
enum Replay {
    static func main() {
        exit(FuzzTargets.replay(FuzzTargets.data, arguments: Array(CommandLine.arguments.dropFirst())))
    }
}
#endif
