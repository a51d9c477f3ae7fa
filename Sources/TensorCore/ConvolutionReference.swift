// Direct-loop convolution, straight from the definition with Double accumulation: the
// reference the fast kernels are tested against. Not for training (no blocking, one thread).

extension Convolution {
    /// Calls `body(n, o, oh, ow, inputIndex, weightIndex)` for every in-bounds term of the
    /// convolution sum — the one place the index arithmetic of the definition lives.
    static func forEachTerm(_ g: ConvolutionGeometry, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let inPerGroup = g.inChannelsPerGroup, outPerGroup = g.outChannelsPerGroup
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                let group = o / outPerGroup
                for oh in 0..<g.outHeight {
                    for ow in 0..<g.outWidth {
                        for c in 0..<inPerGroup {
                            let channel = group * inPerGroup + c
                            for ki in 0..<g.kernelHeight {
                                let ih = oh * g.strideHeight - g.padHeight + ki * g.dilationHeight
                                if ih < 0 || ih >= g.inHeight { continue }
                                for kj in 0..<g.kernelWidth {
                                    let iw = ow * g.strideWidth - g.padWidth + kj * g.dilationWidth
                                    if iw < 0 || iw >= g.inWidth { continue }
                                    let inputIndex = ((n * g.inChannels + channel) * g.inHeight + ih) * g.inWidth + iw
                                    let weightIndex = ((o * inPerGroup + c) * g.kernelHeight + ki) * g.kernelWidth + kj
                                    body(n, o, oh, ow, inputIndex, weightIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func outputIndex(_ g: ConvolutionGeometry, _ n: Int, _ o: Int, _ oh: Int, _ ow: Int) -> Int {
        ((n * g.outChannels + o) * g.outHeight + oh) * g.outWidth + ow
    }

    public static func naiveForward(_ g: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                    bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        var sums = [Double](repeating: 0, count: g.outputCount)
        forEachTerm(g) { n, o, oh, ow, i, w in
            sums[outputIndex(g, n, o, oh, ow)] += Double(input[i]) * Double(weight[w])
        }
        let pixels = g.outHeight * g.outWidth
        for index in 0..<g.outputCount {
            let channel = index / pixels % g.outChannels
            output[index] = Float(sums[index] + (bias.map { Double($0[channel]) } ?? 0))
        }
    }

    public static func naiveBackwardInput(_ g: ConvolutionGeometry, gradOutput: UnsafePointer<Float>,
                                          weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>) {
        var sums = [Double](repeating: 0, count: g.inputCount)
        forEachTerm(g) { n, o, oh, ow, i, w in
            sums[i] += Double(gradOutput[outputIndex(g, n, o, oh, ow)]) * Double(weight[w])
        }
        for index in 0..<g.inputCount { gradInput[index] = Float(sums[index]) }
    }

    public static func naiveBackwardWeight(_ g: ConvolutionGeometry, input: UnsafePointer<Float>,
                                           gradOutput: UnsafePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
                                           gradBias: UnsafeMutablePointer<Float>?) {
        var sums = [Double](repeating: 0, count: g.weightCount)
        forEachTerm(g) { n, o, oh, ow, i, w in
            sums[w] += Double(gradOutput[outputIndex(g, n, o, oh, ow)]) * Double(input[i])
        }
        for index in 0..<g.weightCount { gradWeight[index] = Float(sums[index]) }
        if let gradBias {
            let pixels = g.outHeight * g.outWidth
            for o in 0..<g.outChannels {
                var sum = 0.0
                for n in 0..<g.batch {
                    let plane = gradOutput + (n * g.outChannels + o) * pixels
                    for i in 0..<pixels { sum += Double(plane[i]) }
                }
                gradBias[o] = Float(sum)
            }
        }
    }
}
