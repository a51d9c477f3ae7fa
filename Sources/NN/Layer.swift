import TensorCore

/// How a layer's backward hands back the input gradient.
public enum InputGradientBuffer {
    /// Written into this tensor, which backward overwrites completely before returning it
    /// and never reads otherwise: its memory may be shared with other layers' gradients.
    case own(Tensor)
    /// The output gradient's own tensor, overwritten in place and returned.
    case incoming
    /// The output gradient's tensor returned unchanged, nothing written (a ReLU that the
    /// batch norm before it applies): it may be a gradient that is read again later.
    case passThrough
    /// Anything else (custom layers; `Sequential`, `Residual` and `Concat` are planned as
    /// containers): the layer keeps its buffers, and its backward must return a tensor of its
    /// own, never the output gradient it was given (the plan may reuse that one's memory).
    case unplanned
}

/// A network layer with explicit forward and backward passes.
///
/// Layers own their output and input-gradient tensors and overwrite them on every call,
/// so a warm step allocates nothing; a `Model` lets the input-gradient tensors of layers
/// whose gradients are never alive together share memory (`GradientBufferPlan`, see
/// `inputGradientBuffer`). `forward` remembers what `backward` needs;
/// `backward` overwrites the gradients of this layer's parameters (no accumulation:
/// every parameter is used once per forward pass) and returns the gradient of the input.
public protocol Layer: AnyObject {
    /// The PyTorch class name ("Conv2d"), for summaries and error messages.
    var kind: String { get }
    /// This layer's own parameters under their local names ("weight", "bias").
    var parameters: [(name: String, parameter: Parameter)] { get }
    /// This layer's own buffers (state that is saved but not trained, such as running statistics).
    var buffers: [(name: String, tensor: Tensor)] { get }
    /// Named sub-layers, for containers; names form the dotted PyTorch state-dict path.
    var children: [(name: String, layer: Layer)] { get }
    /// Training or evaluation mode (matters for dropout and batch normalisation).
    var isTraining: Bool { get set }
    /// False for a network's first layer: nothing upstream needs its input gradient.
    var needsInputGradient: Bool { get set }

    /// Output shape (batch first) for an input shape, or an error saying why the input does not fit.
    func outputShape(for inputShape: [Int]) throws -> [Int]
    func forward(_ input: Tensor) -> Tensor
    func backward(_ gradOutput: Tensor) -> Tensor
    /// Draws initial parameter values (PyTorch's defaults) from `random`.
    func resetParameters(using random: RandomGenerator)

    // What `cnn-dist summary` reads (leaf layers; containers are walked by their structure).

    /// Multiply-accumulates of one forward pass for one sample of `inputShape` (batch first,
    /// batch 1). Convolutions and linear layers only, as the published figures count them.
    func multiplyAccumulates(inputShape: [Int]) -> Int
    /// The spatial window this layer slides over its input, for receptive-field arithmetic:
    /// extent (dilated kernel size) and stride; nil for layers that keep each position
    /// separate (activations, normalisation): receptive field and jump pass unchanged.
    func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)?
    /// False for layers PyTorch runs in place or as a view (ReLU(inplace=True), Flatten,
    /// Dropout): they add no activation memory.
    var allocatesOutput: Bool { get }

    /// Where backward puts the input gradient, so that `GradientBufferPlan` can let layers
    /// whose gradients are never alive at the same time share memory.
    var inputGradientBuffer: InputGradientBuffer { get }

    /// Called before each training step with this layer's own stream, a pure function of
    /// (seed, step, rank, layer path): dropout draws its mask from it, so a resumed run
    /// replays the same masks. Containers pass `random.split(childName)` to their children.
    func beginStep(random: RandomGenerator)
}

extension Layer {
    public var parameters: [(name: String, parameter: Parameter)] { [] }
    public var buffers: [(name: String, tensor: Tensor)] { [] }
    public var children: [(name: String, layer: Layer)] { [] }
    public func resetParameters(using random: RandomGenerator) {}
    public func multiplyAccumulates(inputShape: [Int]) -> Int { 0 }
    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? { nil }
    public var allocatesOutput: Bool { true }
    public var inputGradientBuffer: InputGradientBuffer { .unplanned }
    public func beginStep(random: RandomGenerator) {
        for child in children { child.layer.beginStep(random: random.split(child.name)) }
    }

    /// All parameters of this layer and its descendants under dotted PyTorch names.
    public func namedParameters(prefix: String = "") -> [(name: String, parameter: Parameter)] {
        var result = parameters.map { (name: prefix + $0.name, parameter: $0.parameter) }
        for child in children {
            result += child.layer.namedParameters(prefix: prefix + child.name + ".")
        }
        return result
    }

    /// This layer (named `prefix` without its dot, "" at the root) and its descendants under
    /// dotted PyTorch paths, as `ModelSummary`'s rows name them.
    public func namedLayers(prefix: String = "") -> [(name: String, layer: Layer)] {
        var result: [(name: String, layer: Layer)] = [(name: String(prefix.dropLast()), layer: self)]
        for child in children {
            result += child.layer.namedLayers(prefix: prefix + child.name + ".")
        }
        return result
    }

    /// All buffers of this layer and its descendants under dotted PyTorch names.
    public func namedBuffers(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var result = buffers.map { (name: prefix + $0.name, tensor: $0.tensor) }
        for child in children {
            result += child.layer.namedBuffers(prefix: prefix + child.name + ".")
        }
        return result
    }

    /// Sets training or evaluation mode on this layer and all descendants.
    public func setTraining(_ training: Bool) {
        isTraining = training
        for child in children { child.layer.setTraining(training) }
    }

    /// Initialises every parameter from streams keyed by the layer's dotted path,
    /// so a layer's initial values do not depend on what comes before it.
    public func initializeParameters(seed: UInt64) {
        initializeParameters(random: RandomGenerator(seed: seed).split("init"), path: "")
    }

    func initializeParameters(random: RandomGenerator, path: String) {
        resetParameters(using: random.split(path))
        for child in children {
            child.layer.initializeParameters(random: random, path: path.isEmpty ? child.name : path + "." + child.name)
        }
    }

    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.count } }
}
