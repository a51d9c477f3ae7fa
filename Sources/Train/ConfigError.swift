/// A config that cannot be used, located by file, line and key path.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The config file (or "--flag" for command-line overrides).
    public var source: String
    /// 1-based line, when known.
    public var line: Int?
    public var message: String

    public init(source: String, line: Int?, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(source):\(line): \(message)" }
        return "\(source): \(message)"
    }
}
