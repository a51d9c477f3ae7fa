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
