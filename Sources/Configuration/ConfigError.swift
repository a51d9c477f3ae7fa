/// A config that cannot be used, located by file, line and key path.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The config file (or "--flag" for command-line overrides).
    public var source: String
    /// 1-based line, when known.
    public var line: Int?
    /// The key the problem is about, when it is one key ("optimizer.lr").
    public var keyPath: String?
    public var message: String

    public init(source: String, line: Int?, keyPath: String? = nil, message: String) {
        self.source = source
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}
