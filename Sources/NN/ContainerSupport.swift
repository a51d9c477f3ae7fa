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

/// Arranges the ReLUs of a chain. One right after a BatchNorm2d passes through: the
/// normalisation applies it in its own output pass and masks its own gradient pass, saving a
/// read and a write of the activation each way (a conv-BN-ReLU block's two elementwise passes
/// become one). Any other that follows a layer whose backward reads its input, not its output
/// (Conv2d, Linear), works in place on that output, as torchvision's inplace=True does; not
/// the chain's last layer, whose output gradient comes from outside the chain and may have
/// other readers (a residual shortcut). Never in place on a layer's input: MaxPool2d reads its
/// input again in backward.
func planReLUs(_ chain: [(name: String, layer: Layer)]) {
    // From scratch: a layer object may have been planned in another chain before.
    for (_, layer) in chain {
        (layer as? ReLU)?.passesThrough = false
        (layer as? ReLU)?.inPlace = false
        (layer as? BatchNorm2d)?.appliesReLU = false
    }
    for index in chain.indices.dropFirst() {
        guard let relu = chain[index].layer as? ReLU else { continue }
        if let norm = chain[index - 1].layer as? BatchNorm2d {
            norm.appliesReLU = true
            relu.passesThrough = true
        } else if index < chain.count - 1 {
            relu.inPlace = backwardReadsInputOnly(chain[index - 1].layer)
        }
    }
}

/// Pairs the layers of a chain whose tensors between them can be kept as bf16 bits
/// (`TensorElement.bfloat16`, half the bytes) in bf16: a Conv2d's output that a BatchNorm2d
/// reads next; a BatchNorm2d's output that a Conv2d reads next, through a ReLU the batch norm
/// applies; a Residual block's sum that the next block reads. Each reader then knows how to read
/// the bits, forward and backward. After `planReLUs`, which decides which ReLUs pass through.
func planBFloat16Storage(_ chain: [(name: String, layer: Layer)]) {
    for (index, (_, layer)) in chain.enumerated() {
        let next = index + 1 < chain.count ? chain[index + 1].layer : nil
        if let conv = layer as? Conv2d { conv.outputFeedsBatchNorm = next is BatchNorm2d }
        if let norm = layer as? BatchNorm2d {
            let skipsReLU = (next as? ReLU)?.passesThrough == true && index + 2 < chain.count
            norm.nextConvolution = (skipsReLU ? chain[index + 2].layer : next) as? Conv2d
        }
        if let block = layer as? Residual {
            block.nextBlock = (next as? Residual).flatMap { $0.inputReaders == nil ? nil : $0 }
            block.normalizationAddsShortcut?.writesSumForNextBlock = block.nextBlock != nil
        }
    }
}

/// True for layers whose backward reads their input (and saved statistics) but not their
/// output, so the output may be overwritten after forward: Conv2d, Linear, and BatchNorm2d
/// unless it applies a ReLU (whose mask it reads from its output).
func backwardReadsInputOnly(_ layer: Layer) -> Bool {
    layer is Conv2d || layer is Linear || (layer as? BatchNorm2d).map { !$0.appliesReLU } ?? false
}
