import TensorCore

/// Stochastic gradient descent with torch.optim.SGD's exact update, in Float32 as torch does:
///
///     g = grad + weight_decay · p
///     buf = g                                   (first step)
///     buf = momentum · buf + (1 − dampening) · g (later steps)
///     g = g + momentum · buf  (Nesterov)   or   g = buf
///     p = p − lr · g
public final class SGD {
    public struct Options: Equatable, Sendable {
        public var learningRate: Double
        public var momentum: Double
        public var dampening: Double
        public var nesterov: Bool
        public var weightDecay: Double

        public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                    nesterov: Bool = false, weightDecay: Double = 0) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.dampening = dampening
            self.nesterov = nesterov
            self.weightDecay = weightDecay
        }
    }

    public var options: Options
    public var learningRate: Double {
        get { options.learningRate }
        set { options.learningRate = newValue }
    }
    public let parameters: [(name: String, parameter: Parameter)]
    /// Momentum buffers, one per parameter, nil until the first step (as torch's state).
    public private(set) var momentumBuffers: [Tensor?]

    public init(parameters: [(name: String, parameter: Parameter)], options: Options) {
        precondition(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
                     "Nesterov momentum requires a momentum and zero dampening")
        self.parameters = parameters
        self.options = options
        momentumBuffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() {
        let lr = Float(options.learningRate), momentum = Float(options.momentum)
        let dampening = Float(options.dampening), weightDecay = Float(options.weightDecay)
        for (index, entry) in parameters.enumerated() {
            let p = entry.parameter.value.pointer, grad = entry.parameter.gradient.pointer
            let count = entry.parameter.count
            if momentum == 0 {
                for i in 0..<count {
                    let g = weightDecay != 0 ? grad[i] + weightDecay * p[i] : grad[i]
                    p[i] = p[i] - lr * g
                }
                continue
            }
            let firstStep = momentumBuffers[index] == nil
            if firstStep { momentumBuffers[index] = Tensor(shape: entry.parameter.value.shape) }
            let buf = momentumBuffers[index]!.pointer
            let nesterov = options.nesterov
            for i in 0..<count {
                let g = weightDecay != 0 ? grad[i] + weightDecay * p[i] : grad[i]
                let b = firstStep ? g : momentum * buf[i] + (1 - dampening) * g
                buf[i] = b
                let direction = nesterov ? g + momentum * b : b
                p[i] = p[i] - lr * direction
            }
        }
    }

    /// Restores momentum buffers (from a checkpoint); nil entries mean "no step taken yet".
    public func setMomentumBuffers(_ buffers: [Tensor?]) {
        precondition(buffers.count == parameters.count)
        momentumBuffers = buffers
    }
}
