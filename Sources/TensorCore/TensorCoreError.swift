// Errors raised by TensorCore when a kernel is asked for something it cannot compute.
// Geometry is validated once, when a layer sees a new input shape, so the kernels
// themselves never check sizes in their hot paths.

public enum TensorCoreError: Error, CustomStringConvertible, Equatable {
    /// Convolution or pooling sizes that do not describe a valid operation; the message
    /// says which size is wrong and what it was.
    case invalidGeometry(String)

    public var description: String {
        switch self {
        case .invalidGeometry(let message): return "invalid geometry: \(message)"
        }
    }
}
