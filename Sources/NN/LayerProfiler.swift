import Foundation
import TensorCore

/// Per-layer time of training steps (`bench train --profile`, `train --profile-steps`): the
/// containers time each leaf layer's forward and backward, and the layers with weights time
/// their weight gradient inside backward, so backward splits into input and weight gradient.
/// Inactive (`LayerProfiler.active` nil), the hooks cost one load and a branch per layer call.
public final class LayerProfiler {
    /// What a layer's time is spent on.
    public enum Pass: Int, CaseIterable, Sendable {
        case forward, backward, weightGradient
    }

    /// Seconds per pass, summed over the steps profiled.
    public struct Times: Equatable, Sendable {
        public var forward = 0.0
        /// The whole backward call, weight gradient included.
        public var backward = 0.0
        public var weightGradient = 0.0
        public var inputGradient: Double { Swift.max(0, backward - weightGradient) }
        public var total: Double { forward + backward }
    }

    /// The profiler the hooks report to; set it around the steps to profile, on one thread.
    nonisolated(unsafe) public static var active: LayerProfiler?

    public private(set) var times: [ObjectIdentifier: Times] = [:]

    public init() {}

    public func reset() { times = [:] }

    public func times(of layer: Layer) -> Times { times[ObjectIdentifier(layer)] ?? Times() }

    func add(_ layer: Layer, _ pass: Pass, _ seconds: Double) {
        var entry = times[ObjectIdentifier(layer)] ?? Times()
        switch pass {
        case .forward: entry.forward += seconds
        case .backward: entry.backward += seconds
        case .weightGradient: entry.weightGradient += seconds
        }
        times[ObjectIdentifier(layer)] = entry
    }

    @inline(__always)
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// `child.forward(input)`, timed when profiling and `child` is a leaf (containers' time is
    /// their children's).
    @inline(__always)
    static func forward(_ child: Layer, _ input: Tensor) -> Tensor {
        timed(child, .forward) { child.forward(input) }
    }

    @inline(__always)
    static func backward(_ child: Layer, _ gradOutput: Tensor) -> Tensor {
        timed(child, .backward) { child.backward(gradOutput) }
    }

    @inline(__always)
    private static func timed(_ child: Layer, _ pass: Pass, _ body: () -> Tensor) -> Tensor {
        guard let profiler = active, child.children.isEmpty else { return body() }
        let start = now()
        let result = body()
        profiler.add(child, pass, Double(now() - start) / 1e9)
        return result
    }

    /// A layer's weight-gradient computation, inside its backward.
    @inline(__always)
    static func weightGradient(_ layer: Layer, _ body: () -> Void) {
        guard let profiler = active else { return body() }
        let start = now()
        body()
        profiler.add(layer, .weightGradient, Double(now() - start) / 1e9)
    }
}

/// Which kernel a layer's passes run on, for the profile's table ("direct", "im2col+GEMM", …).
public protocol KernelNaming {
    /// Forward, input gradient, weight gradient, for the input shape of the last forward.
    var kernelNames: (forward: String, inputGradient: String, weightGradient: String)? { get }
}

extension Layer {
    /// The leaf layers below this one (itself if it has no children), under their dotted paths.
    public func namedLeaves(prefix: String = "") -> [(path: String, layer: Layer)] {
        if children.isEmpty { return [(prefix, self)] }
        return children.flatMap { child in
            child.layer.namedLeaves(prefix: prefix.isEmpty ? child.name : prefix + "." + child.name)
        }
    }
}
