import XCTest

@testable import NN
@testable import TensorCore

/// Checks that a warm layer overwrites the same output and input-gradient tensors on every
/// step instead of allocating new ones.
func assertReusesBuffers(_ layer: Layer, input: Tensor, file: StaticString = #filePath, line: UInt = #line) {
    let gradOutput = GradientCheck.randomTensor(try! layer.outputShape(for: input.shape), seed: 99)
    let firstOutput = layer.forward(input)
    let firstGradInput = layer.backward(gradOutput)
    let (outputStorage, gradStorage) = (firstOutput.pointer, firstGradInput.pointer)
    for _ in 0..<2 {
        let output = layer.forward(input)
        let gradInput = layer.backward(gradOutput)
        XCTAssertTrue(output === firstOutput && output.pointer == outputStorage,
                      "\(layer.kind) reallocated its output", file: file, line: line)
        XCTAssertTrue(gradInput === firstGradInput && gradInput.pointer == gradStorage,
                      "\(layer.kind) reallocated its input gradient", file: file, line: line)
    }
}
