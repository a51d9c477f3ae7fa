import XCTest

@testable import NN
@testable import TensorCore

/// Finite-difference gradient checking for layers.
///
/// The scalar checked is L = Σ forward(x) ⊙ r for a fixed random r, so dL/dy = r and
/// backward(r) must give dL/dx and dL/dθ. Central differences in Float32 with step h
/// are compared to the analytic values at a sample of coordinates.
enum GradientCheck {
    static func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var random = RandomGenerator(seed: seed)
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t[i] = random.uniform(-scale, scale) }
        return t
    }

    static func scalarLoss(_ layer: Layer, _ input: Tensor, _ projection: Tensor) -> Double {
        let y = layer.forward(input)
        var total = 0.0
        for i in 0..<y.count { total += Double(y[i]) * Double(projection[i]) }
        return total
    }

    /// Checks input and parameter gradients of `layer` at `input`.
    static func check(_ layer: Layer, input: Tensor, step h: Float = 1e-2, tolerance: Double = 1e-2,
                      samples: Int = 40, seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line) {
        let outputShape = try! layer.outputShape(for: input.shape)
        let projection = randomTensor(outputShape, seed: seed &+ 1)
        _ = layer.forward(input)
        let gradInput = layer.backward(projection).clone()
        let parameterGradients = layer.namedParameters().map { ($0.name, $0.parameter, $0.parameter.gradient.clone()) }

        func compare(_ name: String, _ values: Tensor, analytic: Tensor) {
            var random = RandomGenerator(seed: seed &+ 2)
            let picks = values.count <= samples ? Array(0..<values.count)
                : (0..<samples).map { _ in random.nextInt(below: values.count) }
            for index in picks {
                let saved = values[index]
                values[index] = saved + h
                let plus = scalarLoss(layer, input, projection)
                values[index] = saved - h
                let minus = scalarLoss(layer, input, projection)
                values[index] = saved
                let numeric = (plus - minus) / (2 * Double(h))
                let exact = Double(analytic[index])
                let scale = max(1.0, abs(numeric), abs(exact))
                XCTAssertLessThanOrEqual(abs(numeric - exact) / scale, tolerance,
                                         "\(layer.kind) d/d\(name)[\(index)]: numeric \(numeric) vs backward \(exact)",
                                         file: file, line: line)
            }
        }
        compare("input", input, analytic: gradInput)
        for (name, parameter, analytic) in parameterGradients {
            compare(name, parameter.value, analytic: analytic)
        }
    }

    /// A tensor whose values are distinct and at least `gap` apart, so max pooling and
    /// ReLU have no ties or kinks within a finite-difference step.
    static func wellSeparatedTensor(_ shape: [Int], seed: UInt64, gap: Float = 0.05) -> Tensor {
        let t = Tensor(shape: shape)
        var random = RandomGenerator(seed: seed)
        let order = random.permutation(t.count)
        for i in 0..<t.count { t[i] = (Float(order[i]) - Float(t.count) / 2) * gap + gap / 2 }
        return t
    }
}
