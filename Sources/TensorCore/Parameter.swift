/// A trainable tensor: its value and the gradient backward last wrote for it.
public final class Parameter {
    public let value: Tensor
    public let gradient: Tensor

    public init(shape: [Int]) {
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
    }

    public var count: Int { value.count }
}
