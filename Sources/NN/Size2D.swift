/// A height × width pair for kernels, strides, padding and dilation, which may differ
/// per axis (a 1x3 kernel); an integer literal means the same value on both axes.
public struct Size2D: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    public init(_ both: Int) { self.init(both, both) }
    public init(integerLiteral value: Int) { self.init(value) }

    public var description: String { height == width ? "\(height)" : "\(height)x\(width)" }
}
