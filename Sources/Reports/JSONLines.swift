import Foundation

/// One JSON object per line (metrics.jsonl, steps.jsonl, the bench commands' output): keys
/// sorted so that lines read the same from run to run, slashes unescaped in paths.
public enum JSONLines {
    public static func encode<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every record type writes non-finite numbers as null, so encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// An indented JSON document (`--format json` of summary and evaluate).
    public static func document<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from line: Substring) throws -> Value {
        try JSONDecoder().decode(type, from: Data(line.utf8))
    }
}

/// A measurement rounded to what it can resolve, for output lines (`rounded(12.3456, places: 1)` is 12.3).
public func rounded(_ value: Double, places: Int) -> Double {
    let scale = Foundation.pow(10, Double(places))
    return (value * scale).rounded() / scale
}

extension KeyedEncodingContainer {
    /// A number, or null for NaN and infinities (which JSON cannot hold).
    public mutating func encodeNumber(_ value: Double, forKey key: Key) throws {
        if value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// A number; null (what `encodeNumber` writes for NaN) or absent reads as NaN, "no value".
    public func decodeNumber(forKey key: Key) throws -> Double {
        try decodeIfPresent(Double.self, forKey: key) ?? .nan
    }
}
