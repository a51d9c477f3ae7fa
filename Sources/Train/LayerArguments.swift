import Configuration
import NN

/// A layer's arguments as written in the config, read with the checks and messages every kind shares.
struct LayerArguments {
    let spec: LayerSpec
    let path: String
    /// The shape the layer receives, [N, C, H, W] or [N, features].
    let input: [Int]

    func fail(_ message: String) -> ConfigError { CustomModelBuilder.failure(spec, path, message) }

    func number(_ key: String) throws -> Double? {
        switch spec.arguments[key] {
        case nil: return nil
        case .number(let value)?: return value
        case let other?: throw fail("'\(key)' must be a number, got \(other)")
        }
    }

    func integer(_ key: String) throws -> Int? {
        guard let value = try number(key) else { return nil }
        guard value == value.rounded(), value >= 0, value < 1e9 else {
            throw fail("'\(key)' must be a whole number ≥ 0, got \(value)")
        }
        return Int(value)
    }

    /// A count that must be given: positive, and at most a million (channels, features, pieces),
    /// past which one layer's weights would not fit in memory.
    func required(_ key: String) throws -> Int {
        guard let value = try integer(key) else { throw fail("needs '\(key)'") }
        guard value > 0 else { throw fail("'\(key)' must be positive, got \(value)") }
        guard value <= 1_000_000 else { throw fail("'\(key)' must be at most 1000000, got \(value)") }
        return value
    }

    /// A kernel, stride, dilation or output size: each side at least 1 (torch refuses 0).
    func positiveSize(_ key: String) throws -> Size2D? {
        guard let size = try size(key) else { return nil }
        guard size.height >= 1, size.width >= 1 else {
            throw fail("'\(key)' must be at least 1 on each side, got \(size.height)x\(size.width)")
        }
        return size
    }

    /// A number that must be positive where given (BatchNorm's eps divides by its root).
    func positiveFloat(_ key: String, default value: Float) throws -> Float {
        let number = try float(key, default: value)
        guard number > 0, number.isFinite else { throw fail("'\(key)' must be a positive number, got \(number)") }
        return number
    }

    func float(_ key: String, default value: Float) throws -> Float { try number(key).map(Float.init) ?? value }

    func size(_ key: String) throws -> Size2D? {
        switch spec.arguments[key] {
        case nil: return nil
        case .pair(let h, let w)?: return Size2D(h, w)
        default: return try integer(key).map { Size2D($0) }
        }
    }

    func flag(_ key: String, default value: Bool) throws -> Bool {
        switch spec.arguments[key] {
        case nil: return value
        case .flag(let flag)?: return flag
        case let other?: throw fail("'\(key)' must be true or false, got \(other)")
        }
    }

    /// The input's channels, for layers that need a 4-D input.
    func channels(_ kind: String) throws -> Int {
        guard input.count == 4 else { throw fail("expects a 4-D input [N, C, H, W], got \(input) (\(kind))") }
        return input[1]
    }

    /// An `in` argument, where given, must match what the previous layer produces.
    func checkGiven(_ actual: Int, _ unit: String) throws {
        if let given = try integer("in"), given != actual {
            throw fail("expects \(given) input \(unit), got \(actual)")
        }
    }
}
