import TensorCore

/// A network with the facts a trainer needs about it: name, input shape and classes.
public final class Model {
    public let name: String
    /// Per-sample input shape [C, H, W].
    public let inputShape: [Int]
    public let classes: Int
    public let network: Layer

    public init(name: String, inputShape: [Int], classes: Int, network: Layer) throws {
        self.name = name
        self.inputShape = inputShape
        self.classes = classes
        self.network = network
        // Shape inference at build time: a layer that cannot take its input fails here, not mid-run.
        let output = try network.outputShape(for: [1] + inputShape)
        guard output == [1, classes] else {
            throw NNError.shapeMismatch(layer: "\(name) output",
                                        message: "produces \(output.dropFirst()) per sample, expected [\(classes)] class scores")
        }
        network.needsInputGradient = false
        gradientBuffers = GradientBufferPlan.apply(to: network)
    }

    /// The shared memory the layers' input gradients take turns to use.
    public let gradientBuffers: GradientBufferPlan

    public func forward(_ input: Tensor) -> Tensor { network.forward(input) }
    @discardableResult public func backward(_ gradOutput: Tensor) -> Tensor { network.backward(gradOutput) }
    public func namedParameters() -> [(name: String, parameter: Parameter)] { network.namedParameters() }
    public func namedBuffers() -> [(name: String, tensor: Tensor)] { network.namedBuffers() }
    public var parameterCount: Int { network.parameterCount }
    public func setTraining(_ training: Bool) { network.setTraining(training) }
    /// fp32, or bf16 (autocast) for every convolution and linear layer.
    public func setPrecision(_ precision: ComputePrecision) { network.setPrecision(precision) }
    public func initializeParameters(seed: UInt64) { network.initializeParameters(seed: seed) }

    /// Before each training step: per-layer random streams from (seed, step, rank), so
    /// dropout masks differ across steps and ranks yet replay exactly after a resume.
    /// Seeds the step's randomness (dropout). Micro-batches after the first (gradient accumulation)
    /// draw from streams of their own, so their masks are independent.
    public func beginStep(seed: UInt64, step: Int, rank: Int, microBatch: Int = 0) {
        let stream = RandomGenerator(seed: seed).split("dropout").split(UInt64(step)).split(UInt64(rank))
        network.beginStep(random: microBatch == 0 ? stream : stream.split("micro-batch").split(UInt64(microBatch)))
    }
}
