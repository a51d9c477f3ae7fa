import ArgumentParser
import TensorCore

/// `--precision fp32|bf16` on train, bench train and bench gemm.
extension ComputePrecision: ExpressibleByArgument {}
