/// Codable values to and from safetensors' `__metadata__`, a flat map of strings: each key of the
/// value's keyed container becomes one entry, each number its shortest round-trip text ("0.05",
/// "192.0", "3"), which reads back bit for bit. Only flat records: no nested containers.
public enum MetadataCoder {
    public static func encode<Value: Encodable>(_ value: Value) throws -> [String: String] {
        let encoder = FlatEncoder()
        try value.encode(to: encoder)
        return encoder.storage.entries
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from entries: [String: String]) throws -> Value {
        try Value(from: FlatDecoder(entries: entries))
    }

    /// What a value of a record can be: written with `description`, read with `init?(_:)`.
    typealias Scalar = LosslessStringConvertible & Codable
}

/// A key that is any string ("scheduler.plateau.lr").
public struct MetadataKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

private final class Entries {
    var entries: [String: String] = [:]
}

private struct Unsupported: Error, CustomStringConvertible {
    var description: String { "checkpoint metadata holds flat records of strings and numbers only" }
}

private struct FlatEncoder: Encoder {
    let storage = Entries()
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(storage: storage))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer { preconditionFailure("\(Unsupported())") }
    func singleValueContainer() -> SingleValueEncodingContainer { preconditionFailure("\(Unsupported())") }

    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Entries
        var codingPath: [CodingKey] { [] }

        private func put(_ value: some LosslessStringConvertible, _ key: Key) {
            storage.entries[key.stringValue] = value.description
        }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put(value, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw Unsupported() }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey> { preconditionFailure("\(Unsupported())") }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            preconditionFailure("\(Unsupported())")
        }
        mutating func superEncoder() -> Encoder { preconditionFailure("\(Unsupported())") }
        mutating func superEncoder(forKey key: Key) -> Encoder { preconditionFailure("\(Unsupported())") }
    }
}

private struct FlatDecoder: Decoder {
    let entries: [String: String]
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(entries: entries))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer { throw Unsupported() }
    func singleValueContainer() throws -> SingleValueDecodingContainer { throw Unsupported() }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let entries: [String: String]
        var codingPath: [CodingKey] { [] }
        var allKeys: [Key] { entries.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { entries[key.stringValue] == nil }

        /// The entry read as `T`; a missing entry or one that is not a `T` names the key.
        private func get<T: LosslessStringConvertible>(_ type: T.Type, _ key: Key) throws -> T {
            guard let text = entries[key.stringValue] else {
                let context = DecodingError.Context(codingPath: [key],
                                                    debugDescription: "'\(key.stringValue)' is missing")
                throw DecodingError.keyNotFound(key, context)
            }
            guard let value = T(text) else {
                let reason = "'\(key.stringValue)' is '\(text)', not a \(T.self)"
                throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: reason))
            }
            return value
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try get(type, key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try get(type, key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try get(type, key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try get(type, key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try get(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try get(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try get(type, key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try get(type, key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try get(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try get(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try get(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try get(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try get(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try get(type, key) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { throw Unsupported() }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey> { throw Unsupported() }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { throw Unsupported() }
        func superDecoder() throws -> Decoder { throw Unsupported() }
        func superDecoder(forKey key: Key) throws -> Decoder { throw Unsupported() }
    }
}
