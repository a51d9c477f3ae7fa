import TensorCore

/// 2-D convolution (cross-correlation, as PyTorch), weight [out, in/groups, kH, kW], bias [out].
/// forward: [N, in, H, W] → [N, out, oH, oW]
public final class Conv2d: Layer {
    public let kind = "Conv2d"
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Size2D
    public let stride: Size2D
    public let padding: Size2D
    public let dilation: Size2D
    public let groups: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    private var input: Tensor?
    private var geometry: ConvolutionGeometry?

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Size2D, stride: Size2D = 1,
                padding: Size2D = 0, dilation: Size2D = 1, groups: Int = 1, bias: Bool = true) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) do not divide into \(groups) groups")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        weight = Parameter(shape: [outChannels, inChannels / groups, kernelSize.height, kernelSize.width])
        self.bias = bias ? Parameter(shape: [outChannels]) : nil
    }

    public var parameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public func resetParameters(using random: RandomGenerator) {
        let fanIn = inChannels / groups * kernelSize.height * kernelSize.width
        DefaultInitialization.fanInUniform(weight: weight.value, bias: bias?.value, fanIn: fanIn, random: random)
    }

    func makeGeometry(_ shape: [Int]) throws -> ConvolutionGeometry {
        guard shape.count == 4 else {
            throw NNError.shapeMismatch(layer: kind, message: "expects a 4-D input [N, C, H, W], got \(shape)")
        }
        guard shape[1] == inChannels else {
            throw NNError.shapeMismatch(layer: kind, message: "expects \(inChannels) input channels, got \(shape[1])")
        }
        do {
            return try ConvolutionGeometry(
                batch: shape[0], inChannels: inChannels, inHeight: shape[2], inWidth: shape[3],
                outChannels: outChannels, kernelHeight: kernelSize.height, kernelWidth: kernelSize.width,
                strideHeight: stride.height, strideWidth: stride.width,
                padHeight: padding.height, padWidth: padding.width,
                dilationHeight: dilation.height, dilationWidth: dilation.width, groups: groups)
        } catch {
            throw NNError.shapeMismatch(layer: kind, message: "\(error)")
        }
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let g = try makeGeometry(inputShape)
        return [g.batch, outChannels, g.outHeight, g.outWidth]
    }

    /// out·oH·oW outputs, each a dot product over (in/groups)·kH·kW inputs.
    public func multiplyAccumulates(inputShape: [Int]) -> Int {
        guard let shape = try? outputShape(for: inputShape) else { return 0 }
        return shape.dropFirst().reduce(1, *) * (inChannels / groups) * kernelSize.height * kernelSize.width
    }

    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? {
        (Size2D(dilation.height * (kernelSize.height - 1) + 1, dilation.width * (kernelSize.width - 1) + 1), stride)
    }

    public func forward(_ input: Tensor) -> Tensor {
        let g: ConvolutionGeometry
        if let cached = geometry, cached.batch == input.shape[0], cached.inHeight == input.shape[2],
           cached.inWidth == input.shape[3], input.shape[1] == inChannels {
            g = cached
        } else {
            do { g = try makeGeometry(input.shape) } catch { preconditionFailure("\(error)") }
            geometry = g
        }
        self.input = input
        output.reshape(g.batch, outChannels, g.outHeight, g.outWidth)
        Convolution.forward(g, input: input.pointer, weight: weight.value.pointer,
                            bias: bias.map { UnsafePointer($0.value.pointer) }, output: output.pointer)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry, let input else { preconditionFailure("Conv2d.backward before forward") }
        LayerProfiler.weightGradient(self) {
            Convolution.backwardWeight(g, input: input.pointer, gradOutput: gradOutput.pointer,
                                       gradWeight: weight.gradient.pointer, gradBias: bias?.gradient.pointer)
        }
        gradInput.reshape(input.shape)
        if needsInputGradient {
            Convolution.backwardInput(g, gradOutput: gradOutput.pointer, weight: weight.value.pointer,
                                      gradInput: gradInput.pointer)
        }
        return gradInput
    }
}

extension Conv2d {
    /// The geometry of the last forward pass (nil before the first): what `bench conv` times.
    public var lastGeometry: ConvolutionGeometry? { geometry }
}

extension Conv2d: KernelNaming {
    public var kernelNames: (forward: String, inputGradient: String, weightGradient: String)? {
        geometry.map(Convolution.kernelNames)
    }
}
