import XCTest

@testable import TensorCore

/// Random operands for a convolution geometry and what the naive reference computes from them;
/// `assertFastPathsMatch` runs the fast kernels on NaN-filled outputs (every element must be
/// overwritten) and compares.
struct ReferenceConvolution {
    let g: ConvolutionGeometry
    let input: [Float], weight: [Float], bias: [Float]?, gradOutput: [Float]
    let output: [Float], gradInput: [Float], gradWeight: [Float], gradBias: [Float]

    init(_ g: ConvolutionGeometry, seed: UInt64, withBias: Bool = true) {
        self.g = g
        input = randomValues(g.inputCount, seed: seed)
        weight = randomValues(g.weightCount, seed: seed + 1)
        bias = withBias ? randomValues(g.outChannels, seed: seed + 2) : nil
        gradOutput = randomValues(g.outputCount, seed: seed + 3)
        var output = [Float](repeating: 0, count: g.outputCount)
        Convolution.naiveForward(g, input: input, weight: weight, bias: bias, output: &output)
        var gradInput = [Float](repeating: 0, count: g.inputCount)
        Convolution.naiveBackwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput)
        var gradWeight = [Float](repeating: 0, count: g.weightCount)
        var gradBias = [Float](repeating: 0, count: g.outChannels)
        Convolution.naiveBackwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: &gradWeight,
                                        gradBias: &gradBias)
        (self.output, self.gradInput, self.gradWeight, self.gradBias) = (output, gradInput, gradWeight, gradBias)
    }

    /// Forward, input gradient, weight and bias gradients of every algorithm that can run
    /// each pass (forced one by one), with both register tiles, against the reference;
    /// returns the chosen algorithms' weight gradient with the build's own tile.
    @discardableResult
    func assertFastPathsMatch(_ label: String) -> [Float] {
        var chosen: [Float] = []
        for shape in [GEMM.kernelShape] + GEMMKernelShape.allCases.filter({ $0 != GEMM.kernelShape }) {
            withKernelShape(shape) {
                for algorithm in Convolution.candidates(g, .forward) {
                    var output = [Float](repeating: .nan, count: g.outputCount)
                    Convolution.forward(g, input: input, weight: weight, bias: bias, output: &output,
                                        algorithm: algorithm)
                    assertClose(output, self.output, "forward \(algorithm) \(shape) \(label)")
                }
                for algorithm in Convolution.candidates(g, .inputGradient) {
                    var gradInput = [Float](repeating: .nan, count: g.inputCount)
                    Convolution.backwardInput(g, gradOutput: gradOutput, weight: weight, gradInput: &gradInput,
                                              algorithm: algorithm)
                    assertClose(gradInput, self.gradInput, "backwardInput \(algorithm) \(shape) \(label)")
                }
                for algorithm in Convolution.candidates(g, .weightGradient) {
                    var gradWeight = [Float](repeating: .nan, count: g.weightCount)
                    var gradBias = [Float](repeating: .nan, count: g.outChannels)
                    Convolution.backwardWeight(g, input: input, gradOutput: gradOutput, gradWeight: &gradWeight,
                                               gradBias: &gradBias, algorithm: algorithm)
                    // F(4x4, 3x3) errs up to 1e-5 of Σ|terms| (WinogradConvolutionTests): a weight
                    // gradient sums batch × pixels terms, 576 here on the 4-image 12x12 case.
                    let tolerance: Float = algorithm == .winograd4x4 ? 1e-3 : 1e-4
                    assertClose(gradWeight, self.gradWeight, tolerance: tolerance,
                                "backwardWeight \(algorithm) \(shape) \(label)")
                    assertClose(gradBias, self.gradBias, "backwardBias \(algorithm) \(shape) \(label)")
                    if chosen.isEmpty { chosen = gradWeight }
                }
            }
        }
        return chosen
    }
}
