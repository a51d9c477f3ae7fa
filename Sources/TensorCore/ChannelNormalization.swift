/// A batch norm's output that is never stored: the batch norm's input x, [N, C, H, W], read
/// through each channel's affine map y = x·scale[c] + shift[c] and, where the batch norm applies
/// the ReLU after it, max(y, 0). The convolution that reads it computes those values where it
/// reads them (`ConvolutionInput.normalized`): image by image into scratch on the lowered path,
/// row by row into the direct kernel's padded copy, patch by patch in Winograd's input
/// transform, in forward and again for the weight gradient. A training step then skips writing
/// the whole activation, and does not keep it.
///
/// The arithmetic is the batch norm's own output pass (`ChannelAffine`: `x·scale + shift`, then
/// `v > 0 ? v : 0`), so the values read are bit for bit those it would have written.
public struct ChannelNormalization {
    /// x, the batch norm's input.
    public let values: UnsafePointer<Float>
    /// Per channel: γ/√(var + eps), and β − mean·scale.
    public let scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
    public let channels: Int
    /// H·W.
    public let plane: Int
    public let appliesReLU: Bool

    public init(values: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
                channels: Int, plane: Int, appliesReLU: Bool) {
        self.values = values
        self.scale = scale
        self.shift = shift
        self.channels = channels
        self.plane = plane
        self.appliesReLU = appliesReLU
    }

    /// The `count` normalised values from value `index` on, all of channel `channel`'s plane
    /// (within one plane), into `destination`.
    @inline(__always)
    func write(from index: Int, count: Int, channel: Int, into destination: UnsafeMutablePointer<Float>) {
        let x = values + index, map = self.channel(channel)
        var i = 0
        while i + 8 <= count {
            let v = map.apply(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            UnsafeMutableRawPointer(destination + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            destination[i] = map.apply(x[i])
            i += 1
        }
    }

    /// Image `index`'s normalised values, [C, H, W], into `destination`.
    @inline(__always)
    func writeImage(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            write(from: (index * channels + c) * plane, count: plane, channel: c, into: destination + c * plane)
        }
    }
}
