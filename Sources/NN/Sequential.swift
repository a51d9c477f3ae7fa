import TensorCore

/// Runs named layers in order; names form the PyTorch state-dict paths
/// ("conv1.weight", or "features.0.weight" for torchvision-style index names).
public final class Sequential: Layer {
    public let kind = "Sequential"
    public private(set) var children: [(name: String, layer: Layer)]
    public var isTraining = true
    public var needsInputGradient = true {
        didSet { children.first?.layer.needsInputGradient = needsInputGradient }
    }

    /// Called with a child's index right after its backward pass: its parameters' gradients
    /// are final from then on (data-parallel training starts their all-reduce here).
    public var afterChildBackward: ((Int) -> Void)?

    public init(_ children: [(name: String, layer: Layer)]) {
        self.children = children
        planReLUs(children)
        planBFloat16Storage(children)
    }

    /// Children named by their index, as torch.nn.Sequential names them.
    public convenience init(indexed layers: [Layer]) {
        self.init(layers.enumerated().map { (name: String($0.offset), layer: $0.element) })
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        var shape = inputShape
        for child in children { shape = try childOutputShape(child, for: shape) }
        return shape
    }

    public func forward(_ input: Tensor) -> Tensor {
        var x = input
        for child in children { x = LayerProfiler.forward(child.layer, x) }
        return x
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        var g = gradOutput
        for index in children.indices.reversed() {
            g = LayerProfiler.backward(children[index].layer, g)
            afterChildBackward?(index)
        }
        return g
    }
}
