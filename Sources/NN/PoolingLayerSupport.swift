import TensorCore

/// Shape checking shared by the pooling layers.
func makePoolingGeometry(kind: String, shape: [Int], kernelSize: Size2D, stride: Size2D,
                         padding: Size2D, ceilMode: Bool) throws -> PoolingGeometry {
    guard shape.count == 4 else {
        throw NNError.shapeMismatch(layer: kind, message: "expects a 4-D input [N, C, H, W], got \(shape)")
    }
    do {
        return try PoolingGeometry(batch: shape[0], channels: shape[1], inHeight: shape[2], inWidth: shape[3],
                                   kernelHeight: kernelSize.height, kernelWidth: kernelSize.width,
                                   strideHeight: stride.height, strideWidth: stride.width,
                                   padHeight: padding.height, padWidth: padding.width, ceilMode: ceilMode)
    } catch {
        throw NNError.shapeMismatch(layer: kind, message: "\(error)")
    }
}
