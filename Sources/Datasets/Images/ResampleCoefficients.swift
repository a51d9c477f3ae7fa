/// The taps of Pillow's antialiased bilinear resampling along one axis, in Pillow's 8-bit
/// fixed point, so a resized PNG equals torchvision's (PIL) result to the bit.
///
/// As `ImagingResample` computes them: output pixel `o` of `outputSize` covers the source
/// interval `[box.lowerBound, box.upperBound)`; its centre is `box.lowerBound + (o + 0.5) · scale`
/// with `scale = box width / outputSize`; the triangle filter is widened by `max(scale, 1)`
/// (that is the antialiasing), its taps clamped to the source `bounds`, normalised to sum 1,
/// then rounded to integers with 22 fraction bits.
struct ResampleCoefficients {
    static let precisionBits = 22
    /// First source index of each output pixel's taps.
    var first: [Int32] = []
    /// Taps per output pixel (the row length of `weights`).
    var taps = 0
    /// Taps that fall inside the source, per output pixel (at most `taps`).
    var counts: [Int32] = []
    /// Output pixels × `taps` weights; unused ones are 0.
    var weights: [Int32] = []
    private var scratch: [Double] = []

    /// Output pixels `outputs` (a window of `0..<outputSize`) of resampling source positions
    /// `box` (box coordinates relative to `origin`, the source index of position 0) to
    /// `outputSize`, taps clamped to `bounds`.
    mutating func compute(
        box: ClosedRange<Double>, outputSize: Int, outputs: Range<Int>, origin: Int,
        bounds: Range<Int>
    ) {
        let scale = (box.upperBound - box.lowerBound) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filterScale  // bilinear: support 1, widened
        taps = Int(support.rounded(.up)) * 2 + 1
        first.removeAll(keepingCapacity: true)
        counts.removeAll(keepingCapacity: true)
        weights.removeAll(keepingCapacity: true)
        if scratch.count < taps { scratch = [Double](repeating: 0, count: taps) }
        let (low, high) = (Double(bounds.lowerBound - origin), Double(bounds.upperBound - origin))
        for output in outputs {
            let center = box.lowerBound + (Double(output) + 0.5) * scale
            // Pillow truncates toward zero, then clamps.
            // An output beyond the source reads nothing (and no memory past it).
            let start = min(max(Double(Int(center - support + 0.5)), low), high)
            let end = min(Double(Int(center + support + 0.5)), high)
            let count = max(0, Int(end - start))
            var total = 0.0
            for tap in 0..<taps {
                guard tap < count else {
                    scratch[tap] = 0
                    continue
                }
                let distance = abs((Double(tap) + start - center + 0.5) / filterScale)
                scratch[tap] = distance < 1 ? 1 - distance : 0
                total += scratch[tap]
            }
            first.append(Int32(Int(start) + origin))
            counts.append(Int32(count))
            let unit = Double(1 << Self.precisionBits)
            for tap in 0..<taps {
                let weight = total != 0 ? scratch[tap] / total : 0
                weights.append(Int32(weight < 0 ? -0.5 + weight * unit : 0.5 + weight * unit))
            }
        }
    }
}
