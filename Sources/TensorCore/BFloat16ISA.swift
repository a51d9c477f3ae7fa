import CBFloat16Kernels
import Foundation

/// Which instructions compute bfloat16 products: the path a bf16 GEMM takes.
public enum BFloat16ISA: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Intel AMX tiles (TDPBF16PS on 16×32 by 32×16 bf16 tiles), Sapphire Rapids and later.
    case amx
    /// AVX512-BF16's VDPBF16PS (pairs of bf16 products added into Float32 lanes).
    case avx512bf16
    /// Float32 arithmetic on operands rounded to bf16: the product of two bf16 is exact in
    /// Float32, so this equals the hardware up to the order of the Float32 additions.
    case emulated
    /// No bf16 at all: operands are not rounded (a bf16 run then computes what fp32 does).
    case fp32

    public var description: String { rawValue }

    /// The environment variable that forces a path.
    public static let environmentKey = "CNN_DIST_ISA"

    /// The /proc/cpuinfo flags a path needs (empty for the ones that run anywhere).
    public var requiredFlags: [String] {
        switch self {
        case .amx: return ["amx_tile", "amx_bf16"]
        case .avx512bf16: return ["avx512f", "avx512_bf16"]
        case .emulated, .fp32: return []
        }
    }

    /// The first required flag `features` lacks, or nil when this path can run there.
    public func missingFlag(on features: CPUFeatures) -> String? {
        requiredFlags.first { !features.flags.contains($0) }
    }

    /// The fastest path `features` offers: AMX, then AVX512-BF16, else the emulation.
    public static func best(for features: CPUFeatures) -> BFloat16ISA {
        [.amx, .avx512bf16].first { $0.missingFlag(on: features) == nil && $0.isPermitted } ?? .emulated
    }

    /// Linux lends AMX tile state to a process only on request (arch_prctl
    /// ARCH_REQ_XCOMP_PERM); asked once, the answer holds for every thread.
    static let amxPermission: Int32 = cnn_amx_request_permission()

    var isPermitted: Bool { self != .amx || BFloat16ISA.amxPermission == 0 }

    /// The path named by CNN_DIST_ISA in `environment`, or the best for `features` when unset.
    /// A name that is not a path, or a path this CPU lacks, is an error that says which.
    public static func select(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        features: CPUFeatures = .current
    ) throws -> BFloat16ISA {
        guard let name = environment[environmentKey], !name.isEmpty else { return best(for: features) }
        guard let isa = BFloat16ISA(rawValue: name) else {
            throw BFloat16ISAError.unknown(name)
        }
        if let flag = isa.missingFlag(on: features) { throw BFloat16ISAError.unsupported(isa, missingFlag: flag) }
        if !isa.isPermitted { throw BFloat16ISAError.notPermitted(isa, errno: amxPermission) }
        return isa
    }

    /// The path bf16 kernels take when not told otherwise: CNN_DIST_ISA if it names a path this
    /// CPU has, else the best one. Commands call `activate()` first so a bad CNN_DIST_ISA is an
    /// error before any work; tests set this to exercise one path.
    nonisolated(unsafe) public static var active: BFloat16ISA = (try? select()) ?? best(for: .current)

    /// Makes `select()`'s path the active one, writing `active` only when it changes: ranks
    /// running as threads of one process select the same path, and would otherwise all write
    /// this process-wide value at once.
    @discardableResult
    public static func activate() throws -> BFloat16ISA {
        let isa = try select()
        if active != isa { active = isa }
        return isa
    }
}

public enum BFloat16ISAError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    case unsupported(BFloat16ISA, missingFlag: String)
    case notPermitted(BFloat16ISA, errno: Int32)

    public var description: String {
        let key = BFloat16ISA.environmentKey
        switch self {
        case .unknown(let name):
            let names = BFloat16ISA.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(key)=\(name) is not a bf16 path; use one of \(names)"
        case .unsupported(let isa, let flag):
            return "\(key)=\(isa): this CPU lacks \(flag) (/proc/cpuinfo flags); unset \(key) to pick the best path"
        case .notPermitted(let isa, let errno):
            return "\(key)=\(isa): Linux refused AMX tile data (arch_prctl ARCH_REQ_XCOMP_PERM, errno \(errno)); "
                + "a kernel older than 5.16 lacks it"
        }
    }
}
