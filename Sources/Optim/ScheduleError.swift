/// An invalid learning-rate schedule, plateau or early-stopping option, named the way the
/// config file spells it so that the message points at the line to fix.
public enum ScheduleError: Error, Equatable, CustomStringConvertible {
    case invalidOption(name: String, value: String, requirement: String)

    public var description: String {
        switch self {
        case .invalidOption(let name, let value, let requirement):
            return "invalid learning-rate option \(name) = \(value): \(requirement)"
        }
    }

    /// Throws `.invalidOption` unless `condition` holds.
    static func require(_ condition: Bool, _ name: String, _ value: Any, _ requirement: String) throws {
        if !condition { throw ScheduleError.invalidOption(name: name, value: "\(value)", requirement: requirement) }
    }
}
