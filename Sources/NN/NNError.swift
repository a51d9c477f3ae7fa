/// Errors building a network: a layer that cannot take the shape it is given.
public enum NNError: Error, CustomStringConvertible, Equatable {
    /// `layer` names the layer by path and kind, e.g. "conv3 (Conv2d)".
    case shapeMismatch(layer: String, message: String)
    case unknownModel(name: String, known: [String])
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let layer, let message):
            return "layer \(layer): \(message)"
        case .unknownModel(let name, let known):
            return "unknown model '\(name)'; known models: \(known.joined(separator: ", "))"
        case .invalidArgument(let message):
            return message
        }
    }
}
