import TensorCore

/// AlexNet's RGB intensity jitter ("PCA lighting"), as fb.resnet.torch's `Lighting`: with
/// α ~ N(0, alphaStd²) drawn per image for each of the three principal components, every pixel
/// of channel i gets Σⱼ eigenvector[i][j] · αⱼ · eigenvalue[j] added. Applied to pixels in
/// [0, 1] before normalisation (no clamping, as there). Defaults: ImageNet's RGB eigen-system.
public struct PCALighting: Equatable, Sendable {
    public var alphaStd: Float
    public var eigenvalues: SIMD3<Float>
    /// Rows: the R, G and B components of the three eigenvectors (eigenvectors are the columns).
    public var eigenvectors: [SIMD3<Float>]

    public static let imageNetEigenvalues = SIMD3<Float>(0.2175, 0.0188, 0.0045)
    public static let imageNetEigenvectors: [SIMD3<Float>] = [SIMD3(-0.5675, 0.7192, 0.4009),
                                                              SIMD3(-0.5808, -0.0045, -0.8140),
                                                              SIMD3(-0.5836, -0.6948, 0.4203)]

    public init(alphaStd: Float, eigenvalues: SIMD3<Float> = imageNetEigenvalues,
                eigenvectors: [SIMD3<Float>] = imageNetEigenvectors) {
        precondition(eigenvectors.count == 3, "PCA lighting needs a 3x3 eigenvector matrix")
        self.alphaStd = alphaStd
        self.eigenvalues = eigenvalues
        self.eigenvectors = eigenvectors
    }

    /// The per-channel shift for component weights `alpha` (already scaled by alphaStd).
    public func shift(alpha: SIMD3<Float>) -> SIMD3<Float> {
        let weighted = alpha * eigenvalues
        return SIMD3((eigenvectors[0] * weighted).sum(), (eigenvectors[1] * weighted).sum(), (eigenvectors[2] * weighted).sum())
    }

    /// Draws α (three normals, in component order) and returns the shift.
    public func shift(random: inout RandomGenerator) -> SIMD3<Float> {
        let a0 = random.normal(), a1 = random.normal(), a2 = random.normal()
        return shift(alpha: SIMD3(a0, a1, a2) * alphaStd)
    }

    /// Adds `shift` to each channel of a [3, H, W] image in place.
    public static func apply(_ shift: SIMD3<Float>, to image: UnsafeMutablePointer<Float>, plane: Int) {
        for c in 0..<3 {
            let value = shift[c], start = image + c * plane
            for i in 0..<plane { start[i] += value }
        }
    }
}
