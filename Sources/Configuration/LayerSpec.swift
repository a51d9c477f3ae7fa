/// One layer of a custom architecture in the config (`model.layers`), as written: in the
/// spirit of Caffe's prototxt and Darknet's cfg, a list of layers with PyTorch's argument
/// names, input channels and features inferred from the shapes.
///
/// ```yaml
/// model:
///   name: small-resnet
///   layers:
///     - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}
///     - batchnorm2d
///     - relu
///     - residual:
///         layers: [conv2d: {out: 16, kernel: 3, padding: 1}, batchnorm2d, relu,
///                  conv2d: {out: 16, kernel: 3, padding: 1}, batchnorm2d]
///     - concat:
///         branches: [[conv2d: {out: 8, kernel: 1}], [conv2d: {out: 8, kernel: 3, padding: 1}]]
///     - adaptiveavgpool2d: {output: 1}
///     - flatten
///     - linear: {}          # out defaults to the number of classes for the last linear layer
/// ```
public struct LayerSpec: Equatable, Sendable {
    public enum Argument: Equatable, Sendable {
        case number(Double)
        /// Height and width (`kernel: [1, 3]`).
        case pair(Int, Int)
        case flag(Bool)
        case word(String)
    }

    /// Lower-case layer kind: conv2d, linear, maxpool2d, avgpool2d, adaptiveavgpool2d,
    /// batchnorm2d, dropout, localresponsenorm, relu, leakyrelu, elu, sigmoid, tanh, maxout,
    /// flatten, residual, concat.
    public var kind: String
    public var arguments: [String: Argument] = [:]
    /// `residual`: the main path.
    public var layers: [LayerSpec] = []
    /// `residual`: the projection shortcut (nil: identity).
    public var shortcut: [LayerSpec]?
    /// `concat`: the parallel branches.
    public var branches: [[LayerSpec]] = []
    /// Config file and line where the layer is written, for errors; not part of equality.
    public var source: String?
    public var line: Int?

    public init(kind: String, arguments: [String: Argument] = [:], layers: [LayerSpec] = [], shortcut: [LayerSpec]? = nil,
                branches: [[LayerSpec]] = [], source: String? = nil, line: Int? = nil) {
        self.kind = kind
        self.arguments = arguments
        self.layers = layers
        self.shortcut = shortcut
        self.branches = branches
        self.source = source
        self.line = line
    }

    public static func == (a: LayerSpec, b: LayerSpec) -> Bool {
        a.kind == b.kind && a.arguments == b.arguments && a.layers == b.layers && a.shortcut == b.shortcut
            && a.branches == b.branches
    }

    /// The argument names each kind takes (PyTorch's, shortened as in torch: `kernel` for kernel_size).
    public static let argumentNames: [String: [String]] = [
        "conv2d": ["in", "out", "kernel", "stride", "padding", "dilation", "groups", "bias"],
        "linear": ["in", "out", "bias"],
        "maxpool2d": ["kernel", "stride", "padding", "ceil_mode"],
        "avgpool2d": ["kernel", "stride", "padding", "ceil_mode", "count_include_pad"],
        "adaptiveavgpool2d": ["output"],
        "batchnorm2d": ["eps", "momentum"],
        "dropout": ["p"],
        "localresponsenorm": ["size", "alpha", "beta", "k"],
        "relu": [], "sigmoid": [], "tanh": [], "flatten": [],
        "leakyrelu": ["negative_slope"],
        "elu": ["alpha"],
        "maxout": ["pieces"],
        "residual": ["layers", "shortcut", "activation"],
        "concat": ["branches"],
    ]
}
