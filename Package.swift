// swift-tools-version:6.0
// cnn-dist: a data-parallel CNN trainer. Module boundaries follow ../shared/DESIGN.md.
import PackageDescription
import Foundation

// CPU target for the numeric kernels: `native` by default (AVX2/AVX-512 FMA where the
// build machine has it); CNN_DIST_CPU=portable builds baseline x86-64 that runs anywhere.
// Any other value is passed to -target-cpu as is (e.g. CNN_DIST_CPU=znver3).
let cpuSetting = ProcessInfo.processInfo.environment["CNN_DIST_CPU"] ?? "native"
let kernelFlags: [SwiftSetting] = {
    var flags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]
    if cpuSetting != "portable" {
        flags.append(.unsafeFlags(["-target-cpu", cpuSetting]))
    } else {
        // Kernels avoid fused multiply-add where baseline x86-64 would emulate it in software.
        flags.append(.define("CNN_DIST_PORTABLE_CPU"))
    }
    return flags
}()
let common: [SwiftSetting] = [.swiftLanguageMode(.v5)]
// The same CPU target for the C file that records what the kernels were compiled for (--version).
let buildTargetFlags: [CSetting] = cpuSetting == "portable" ? [] : [.unsafeFlags(["-march=\(cpuSetting)"])]

let package = Package(
    name: "cnn-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cnn-dist", targets: ["cnn-dist"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Image codecs: libjpeg-turbo's TurboJPEG API and libspng (Debian libturbojpeg0-dev, libspng-dev).
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CSPNG", path: "Sources/CSPNG", pkgConfig: "spng", providers: [.apt(["libspng-dev"])]),
        // libpng, the tests' independent PNG encoder (Debian libpng-dev).
        .systemLibrary(name: "CPNG", path: "Tests/Support/CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Counting malloc & co.; linked only into the cnn-dist executable (bench train's
        // allocations_per_step). Exported from the executable so every library binds to it.
        .target(name: "CAllocationCounter"),
        // Atomics and the spin-wait hint for TensorCore's worker pool.
        .target(name: "CAtomics"),
        // The AMX and AVX512-BF16 micro-kernels, each compiled for its instructions with a target
        // attribute (so any -march builds them); TensorCore calls them only where the CPU has them.
        .target(name: "CBFloat16Kernels"),
        .target(name: "TensorCore", dependencies: ["CAtomics", "CBuildTarget", "CBFloat16Kernels"],
                swiftSettings: common + kernelFlags),
        .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: common + kernelFlags),
        .target(name: "Optim", dependencies: ["TensorCore"], swiftSettings: common + kernelFlags),
        .target(name: "Datasets", dependencies: ["TensorCore", "CZlib", "CTurboJPEG", "CSPNG"], swiftSettings: common + kernelFlags),
        .target(name: "Distributed", dependencies: ["CMPI"], swiftSettings: common),
        .target(name: "Configuration", dependencies: ["TensorCore", "Datasets", "Optim", "Yams"], swiftSettings: common),
        .target(name: "Checkpoint",
                dependencies: ["TensorCore", "NN", "Optim", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: common),
        .target(name: "Train",
                dependencies: ["TensorCore", "NN", "Optim", "Datasets", "Distributed", "Configuration", "Checkpoint",
                               "Reports"],
                swiftSettings: common),
        .target(name: "Benchmarks",
                dependencies: ["TensorCore", "NN", "Optim", "Datasets", "Distributed", "Configuration", "Train", "Reports"],
                swiftSettings: common),
        .target(name: "Reports", dependencies: ["Checkpoint"], swiftSettings: common),
        // The build's identity for --version: git commit and CPU target, written before each build.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "CBuildTarget", cSettings: buildTargetFlags),
        .target(name: "BuildInfo", dependencies: ["CBuildTarget"], swiftSettings: common, plugins: ["BuildInfoPlugin"]),
        .executableTarget(name: "cnn-dist",
                          dependencies: ["Train", "Benchmarks", "Reports", "Configuration", "Checkpoint", "Datasets", "NN",
                                         "Distributed", "CAllocationCounter", "BuildInfo",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: common,
                          linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=malloc",
                                                         "-Xlinker", "--export-dynamic-symbol=calloc",
                                                         "-Xlinker", "--export-dynamic-symbol=realloc",
                                                         "-Xlinker", "--export-dynamic-symbol=free",
                                                         "-Xlinker", "--export-dynamic-symbol=memalign",
                                                         "-Xlinker", "--export-dynamic-symbol=aligned_alloc",
                                                         "-Xlinker", "--export-dynamic-symbol=posix_memalign",
                                                         "-Xlinker", "--export-dynamic-symbol=valloc"],
                                                        .when(platforms: [.linux]))]),
        // Run under mpirun by the distributed tests; not part of the product.
        .executableTarget(name: "collective-check", dependencies: ["Distributed"],
                          path: "Tests/Support/CollectiveCheck", swiftSettings: common),
        .target(name: "TestSupport", path: "Tests/Support/TestSupport", swiftSettings: common),
        // libFuzzer targets (launch/fuzz.sh builds them with -sanitize=fuzzer); plain builds make replayers.
        .target(name: "FuzzTargets", dependencies: ["Configuration", "Checkpoint", "Datasets", "Train"],
                path: "Tests/Fuzz/FuzzTargets", swiftSettings: common),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/Config",
                          swiftSettings: common),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/Checkpoint",
                          swiftSettings: common),
        .executableTarget(name: "fuzz-data", dependencies: ["FuzzTargets"], path: "Tests/Fuzz/Data",
                          swiftSettings: common),
        .target(name: "TrainingFixtures", dependencies: ["Configuration"], path: "Tests/Support/TrainingFixtures",
                swiftSettings: common),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"], swiftSettings: common),
        .testTarget(name: "NNTests", dependencies: ["NN", "Optim", "TensorCore"], swiftSettings: common),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "TensorCore"], swiftSettings: common),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TensorCore", "CZlib", "CTurboJPEG", "CPNG"],
                    exclude: ["Fixtures"],
                    swiftSettings: common),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TestSupport"], swiftSettings: common),
        .testTarget(name: "ConfigurationTests",
                    dependencies: ["Configuration", "Datasets", "CZlib", "TestSupport", "TrainingFixtures", "Yams"],
                    swiftSettings: common),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "NN", "Optim", "TensorCore", "TestSupport"],
                    swiftSettings: common),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Distributed", "CMPI", "CZlib"],
                    swiftSettings: common),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Checkpoint"], swiftSettings: common),
        .testTarget(name: "TrainTests",
                    dependencies: ["Train", "Benchmarks", "Reports", "Configuration", "Checkpoint", "NN", "Optim", "Datasets",
                                   "Distributed", "TensorCore", "TestSupport", "TrainingFixtures"],
                    swiftSettings: common),
        // Tests that start processes: the command-line tool, mpirun, the PyTorch peers.
        .testTarget(name: "EndToEndTests",
                    dependencies: ["Train", "Benchmarks", "Reports", "Configuration", "Checkpoint", "NN", "Optim", "Datasets",
                                   "Distributed", "TensorCore", "TestSupport", "TrainingFixtures"],
                    swiftSettings: common),
    ]
)
