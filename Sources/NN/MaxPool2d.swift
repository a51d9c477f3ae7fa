import TensorCore

/// Max pooling (PyTorch MaxPool2d; stride defaults to the kernel size; padding counts as −∞).
/// forward: [N, C, H, W] → [N, C, oH, oW]
public final class MaxPool2d: Layer {
    public let kind = "MaxPool2d"
    public let kernelSize: Size2D
    public let stride: Size2D
    public let padding: Size2D
    public let ceilMode: Bool
    public var isTraining = true
    public var needsInputGradient = true

    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    public var inputGradientBuffer: InputGradientBuffer { .own(gradInput) }
    /// The forward pass's input, which backward searches again for each window's winner
    /// instead of keeping an index per output (the layer before keeps this tensor anyway).
    private var input: Tensor?
    private var geometry: PoolingGeometry?

    public init(kernelSize: Size2D, stride: Size2D? = nil, padding: Size2D = 0, ceilMode: Bool = false) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
    }

    public func outputShape(for inputShape: [Int]) throws -> [Int] {
        let g = try makePoolingGeometry(kind: kind, shape: inputShape, kernelSize: kernelSize, stride: stride,
                                        padding: padding, ceilMode: ceilMode)
        return [g.batch, g.channels, g.outHeight, g.outWidth]
    }

    public func receptiveWindow(inputShape: [Int]) -> (extent: Size2D, stride: Size2D)? { (kernelSize, stride) }

    public func forward(_ input: Tensor) -> Tensor {
        let g: PoolingGeometry
        do {
            g = try makePoolingGeometry(kind: kind, shape: input.shape, kernelSize: kernelSize, stride: stride,
                                        padding: padding, ceilMode: ceilMode)
        } catch { preconditionFailure("\(error)") }
        geometry = g
        // Only a backward that routes gradients needs the input again.
        self.input = isTraining && needsInputGradient ? input : nil
        output.reshape(g.batch, g.channels, g.outHeight, g.outWidth)
        Pooling.maxForward(g, input: input.pointer, output: output.pointer)
        return output
    }

    public func backward(_ gradOutput: Tensor) -> Tensor {
        guard let g = geometry else { preconditionFailure("MaxPool2d.backward before forward") }
        gradInput.reshape(g.batch, g.channels, g.inHeight, g.inWidth)
        if needsInputGradient {
            guard let input else { preconditionFailure("MaxPool2d.backward after an evaluation-mode forward") }
            Pooling.maxBackward(g, input: input.pointer, gradOutput: gradOutput.pointer, gradInput: gradInput.pointer)
        }
        return gradInput
    }
}
