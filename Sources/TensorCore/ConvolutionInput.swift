/// What a convolution reads: Float32 values, or bf16 bits (a bf16 batch norm's output kept at
/// its own size, `TensorElement.bfloat16`), widened to Float32 where a kernel reads them: image
/// by image into scratch on the lowered path (unless the bf16 GEMM packs the bits as they are),
/// row by row into the direct kernel's padded copy, the whole input into a staging buffer for
/// the Winograd kernels. Or a Float32 batch norm's output computed where it is read
/// (`normalized`): image by image and row by row as above, and by the Float32 Winograd kernels
/// in their input transforms (a staging copy only on the bf16 forward pass's Winograd path).
public enum ConvolutionInput {
    case float32(UnsafePointer<Float>)
    /// Value i at byte 2·i.
    case bfloat16Bits(UnsafeRawPointer)
    /// A Float32 batch norm's output that was not stored: its input, normalised as read.
    case normalized(ChannelNormalization)

    /// A tensor's values, whatever its element.
    public init(_ tensor: Tensor) {
        self = tensor.element == .bfloat16 ? .bfloat16Bits(UnsafeRawPointer(tensor.bfloat16Bits))
            : .float32(UnsafePointer(tensor.pointer))
    }

    /// Image `index` (`imageSize` values) as Float32: in place, or widened into `widened`.
    @inline(__always)
    func image(_ index: Int, imageSize: Int, widened: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        switch self {
        case .float32(let values):
            return values + index * imageSize
        case .bfloat16Bits(let bits):
            BFloat16Rounding.expand(bits: bits + 2 * index * imageSize, into: widened, count: imageSize)
            return UnsafePointer(widened)
        case .normalized(let normalization):
            normalization.writeImage(index, into: widened)
            return UnsafePointer(widened)
        }
    }

    /// Floats of scratch `image` needs per image.
    func widenedSize(imageSize: Int) -> Int {
        if case .float32 = self { return 0 }
        return imageSize
    }

    /// Runs `body` with all `count` values as Float32: in place, or widened (normalised) into
    /// `StagingBuffer.input`.
    func withFloat32(count: Int, _ body: (UnsafePointer<Float>) -> Void) {
        switch self {
        case .float32(let values):
            body(values)
        case .bfloat16Bits(let bits):
            StagingBuffer.input.withBuffer(count) { staging in
                BFloat16Rounding.expandInParallel(bits: bits, into: staging, count: count)
                body(UnsafePointer(staging))
            }
        case .normalized(let normalization):
            // Only the bf16 forward pass's Winograd path gets here (a batch norm hands its input to
            // a Float32 convolution, whose Winograd transforms normalise as they read).
            StagingBuffer.input.withBuffer(count) { staging in
                let imageSize = normalization.channels * normalization.plane
                for n in 0..<count / Swift.max(1, imageSize) {
                    normalization.writeImage(n, into: staging + n * imageSize)
                }
                body(UnsafePointer(staging))
            }
        }
    }
}

/// Where a bf16 convolution's forward pass writes: Float32 values rounded to bf16, or bf16 bits
/// (value i at byte 2·i), the output kept at its own size for a batch norm.
public enum ConvolutionOutput {
    case roundedToBFloat16(UnsafeMutablePointer<Float>)
    case bfloat16Bits(UnsafeMutableRawPointer)
}
