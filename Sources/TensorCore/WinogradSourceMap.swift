/// What the Winograd input transforms apply to each value they read from the source planes:
/// nothing (`UnmappedSource`), or a batch norm's normalisation of its input
/// (`ChannelNormalization`), so that the batch norm's output is computed as the transform reads
/// it rather than written in a pass of its own. Padding stays zero: only values read from a
/// plane are mapped.
protocol WinogradSourceMap {
    associatedtype Channel: ChannelValueMap
    /// The map of channel `c`'s values.
    func channel(_ c: Int) -> Channel
}

/// One channel's map of values, on one value or a vector of them, lane by lane.
protocol ChannelValueMap {
    func apply(_ v: Float) -> Float
    func apply(_ v: SIMD4<Float>) -> SIMD4<Float>
    func apply(_ v: SIMD8<Float>) -> SIMD8<Float>
    func apply(_ v: SIMD16<Float>) -> SIMD16<Float>
}

/// The source as it lies.
struct UnmappedSource: WinogradSourceMap, ChannelValueMap {
    @inline(__always) func channel(_ c: Int) -> UnmappedSource { self }
    @inline(__always) func apply(_ v: Float) -> Float { v }
    @inline(__always) func apply(_ v: SIMD4<Float>) -> SIMD4<Float> { v }
    @inline(__always) func apply(_ v: SIMD8<Float>) -> SIMD8<Float> { v }
    @inline(__always) func apply(_ v: SIMD16<Float>) -> SIMD16<Float> { v }
}

extension ChannelNormalization: WinogradSourceMap {
    @inline(__always)
    func channel(_ c: Int) -> ChannelAffine {
        ChannelAffine(scale: scale[c], shift: shift[c], appliesReLU: appliesReLU)
    }
}

/// x·scale + shift, then max(·, 0) with the ReLU, as the batch norm's output pass computes it
/// (`v > 0 ? v : 0`: NaN and −0 become +0), lane by lane the same in a vector.
struct ChannelAffine: ChannelValueMap {
    let scale: Float, shift: Float, appliesReLU: Bool

    @inline(__always)
    func apply(_ v: Float) -> Float {
        let y = v * scale + shift
        return appliesReLU ? (y > 0 ? y : 0) : y
    }

    // One body per width, concrete: generic SIMD code is not reliably specialised into vector
    // instructions. As Elementwise.relu: v where v > 0, else 0.
    @inline(__always)
    func apply(_ v: SIMD4<Float>) -> SIMD4<Float> {
        let y = v * scale + shift
        return appliesReLU ? SIMD4<Float>().replacing(with: y, where: y .> 0) : y
    }

    @inline(__always)
    func apply(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let y = v * scale + shift
        return appliesReLU ? SIMD8<Float>().replacing(with: y, where: y .> 0) : y
    }

    @inline(__always)
    func apply(_ v: SIMD16<Float>) -> SIMD16<Float> {
        let y = v * scale + shift
        return appliesReLU ? SIMD16<Float>().replacing(with: y, where: y .> 0) : y
    }
}
