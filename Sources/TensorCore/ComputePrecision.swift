/// The precision a network trains in (`training.precision`): which layers compute in bf16 and
/// which round what they return is below.
///
/// bf16 follows torch.autocast("cpu", dtype=torch.bfloat16): those layers take bf16-rounded
/// inputs and weights, accumulate in Float32 and return bf16-rounded outputs (and, backward,
/// bf16-rounded gradients); BatchNorm computes in Float32 and, like autocast's on a bf16 input,
/// returns bf16 output and input gradient; master weights, softmax, the loss and the optimizer
/// stay Float32. The instructions used are `BFloat16ISA.active`'s.
public enum ComputePrecision: String, CaseIterable, Sendable, CustomStringConvertible {
    case fp32, bf16

    public var description: String { rawValue }

    /// Whether values are rounded to bf16 now: bf16, unless CNN_DIST_ISA=fp32 turned the rounding off.
    public var roundsToBFloat16: Bool { self == .bf16 && BFloat16ISA.active != .fp32 }
}
