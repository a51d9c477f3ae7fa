import TensorCore

/// Shape inference of a container's child, naming the child in any shape error:
/// "conv2 (Conv2d)" for the child's own error, "layer1.0.conv1 (Conv2d)" for one from inside it.
func childOutputShape(_ child: (name: String, layer: Layer), for inputShape: [Int]) throws -> [Int] {
    do {
        return try child.layer.outputShape(for: inputShape)
    } catch NNError.shapeMismatch(let layer, let message) {
        let path = layer.hasPrefix(child.layer.kind) && !(child.layer is Sequential)
            ? "\(child.name) (\(layer))" : "\(child.name).\(layer)"
        throw NNError.shapeMismatch(layer: path, message: message)
    }
}

/// Lets each ReLU of a chain that follows a layer whose backward reads its input, not its
/// output (Conv2d, Linear, BatchNorm2d), work in place on that output, as torchvision's
/// inplace=True does. Not the chain's last layer: its output gradient comes from outside the
/// chain and may have other readers (a residual shortcut). Never in place on a layer's input:
/// MaxPool2d reads its input again in backward.
func enableInPlaceReLUs(_ chain: [(name: String, layer: Layer)]) {
    for index in chain.indices.dropFirst().dropLast() {
        guard let relu = chain[index].layer as? ReLU else { continue }
        relu.inPlace = backwardReadsInputOnly(chain[index - 1].layer)
    }
}

/// True for layers whose backward reads their input (and saved statistics) but not their
/// output, so the output may be overwritten after forward: Conv2d, Linear, BatchNorm2d.
func backwardReadsInputOnly(_ layer: Layer) -> Bool {
    layer is Conv2d || layer is Linear || layer is BatchNorm2d
}
