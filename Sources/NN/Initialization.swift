import TensorCore

/// PyTorch's default initialisation for Conv2d and Linear: weights from
/// kaiming_uniform_(a: √5), which is U(−1/√fan_in, 1/√fan_in), and biases from the same bound.
enum DefaultInitialization {
    static func uniform(_ tensor: Tensor, bound: Float, random: RandomGenerator) {
        var random = random
        let p = tensor.pointer
        for i in 0..<tensor.count { p[i] = random.uniform(-bound, bound) }
    }

    static func fanInUniform(weight: Tensor, bias: Tensor?, fanIn: Int, random: RandomGenerator) {
        let bound = 1 / Float(fanIn).squareRoot()
        uniform(weight, bound: bound, random: random.split("weight"))
        if let bias { uniform(bias, bound: bound, random: random.split("bias")) }
    }
}
