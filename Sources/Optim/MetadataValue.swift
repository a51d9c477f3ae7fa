/// String encodings for scheduler state in a checkpoint's `[String: String]` metadata.
/// Doubles use Swift's shortest round-trip `description` ("0.1", "1e-05", "inf", "-inf",
/// "nan"), which `Double(_:)` parses back to the identical bits.
enum MetadataValue {
    static func encode(_ value: Double) -> String { value.description }
    static func encode(_ value: Int) -> String { String(value) }

    static func double(_ metadata: [String: String], _ key: String) -> Double? {
        metadata[key].flatMap { Double($0) }
    }

    static func int(_ metadata: [String: String], _ key: String) -> Int? {
        metadata[key].flatMap { Int($0) }
    }
}
