import Foundation

@testable import Reports

/// Reads back what TensorBoardEventWriter writes, independently of it: TFRecord frames with both
/// CRCs checked, protobuf fields decoded by wire type, and the Event fields cnn-dist uses.
enum EventFileReader {
    struct Value {
        var tag = ""
        var simpleValue: Float?
        var pluginName: String?
        var dtype: UInt64?
        var strings: [String] = []
        var dimensions: [UInt64] = []
    }

    struct Event {
        var wallTime = 0.0
        var step: Int64 = 0
        var fileVersion: String?
        var values: [Value] = []
        var sessionStatus: UInt64?
    }

    enum Field {
        case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32)
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func events(atPath path: String) throws -> [Event] {
        try records(Array(try Data(contentsOf: URL(fileURLWithPath: path)))).map(event)
    }

    /// Each record's data, after checking the masked CRCs of its length and of its data.
    static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var result: [[UInt8]] = [], at = 0
        while at < bytes.count {
            guard at + 12 <= bytes.count else { throw Malformed(description: "header cut short at \(at)") }
            let lengthBytes = Array(bytes[at..<at + 8])
            let length = Int(littleEndian(lengthBytes))
            guard UInt32(littleEndian(Array(bytes[at + 8..<at + 12]))) == CRC32C.masked(of: lengthBytes) else {
                throw Malformed(description: "length CRC wrong at \(at)")
            }
            guard at + 16 + length <= bytes.count else { throw Malformed(description: "data cut short at \(at)") }
            let data = Array(bytes[at + 12..<at + 12 + length])
            let dataCRC = UInt32(littleEndian(Array(bytes[at + 12 + length..<at + 16 + length])))
            guard dataCRC == CRC32C.masked(of: data) else { throw Malformed(description: "data CRC wrong at \(at)") }
            result.append(data)
            at += 16 + length
        }
        return result
    }

    static func littleEndian(_ bytes: [UInt8]) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func fields(_ bytes: [UInt8]) throws -> [(number: Int, value: Field)] {
        var result: [(Int, Field)] = [], at = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < bytes.count, shift < 64 else { throw Malformed(description: "varint cut short") }
                let byte = bytes[at]
                at += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
        }
        func take(_ count: Int) throws -> [UInt8] {
            guard at + count <= bytes.count else { throw Malformed(description: "field cut short") }
            defer { at += count }
            return Array(bytes[at..<at + count])
        }
        while at < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: result.append((number, .varint(try varint())))
            case 1: result.append((number, .fixed64(littleEndian(try take(8)))))
            case 2: result.append((number, .bytes(try take(Int(try varint())))))
            case 5: result.append((number, .fixed32(UInt32(littleEndian(try take(4))))))
            default: throw Malformed(description: "wire type \(key & 7)")
            }
        }
        return result
    }

    static func event(_ bytes: [UInt8]) throws -> Event {
        var event = Event()
        for (number, field) in try fields(bytes) {
            switch (number, field) {
            case (1, .fixed64(let bits)): event.wallTime = Double(bitPattern: bits)
            case (2, .varint(let step)): event.step = Int64(bitPattern: step)
            case (3, .bytes(let text)): event.fileVersion = String(decoding: text, as: UTF8.self)
            case (5, .bytes(let summary)):
                for case (1, .bytes(let value)) in try fields(summary) { event.values.append(try self.value(value)) }
            case (7, .bytes(let log)):
                for case (1, .varint(let status)) in try fields(log) { event.sessionStatus = status }
            default: throw Malformed(description: "unexpected Event field \(number)")
            }
        }
        return event
    }

    static func value(_ bytes: [UInt8]) throws -> Value {
        var value = Value()
        for (number, field) in try fields(bytes) {
            switch (number, field) {
            case (1, .bytes(let tag)): value.tag = String(decoding: tag, as: UTF8.self)
            case (2, .fixed32(let bits)): value.simpleValue = Float(bitPattern: bits)
            case (9, .bytes(let metadata)):
                for case (1, .bytes(let plugin)) in try fields(metadata) {
                    for case (1, .bytes(let name)) in try fields(plugin) {
                        value.pluginName = String(decoding: name, as: UTF8.self)
                    }
                }
            case (8, .bytes(let tensor)):
                for (tensorField, tensorValue) in try fields(tensor) {
                    switch (tensorField, tensorValue) {
                    case (1, .varint(let dtype)): value.dtype = dtype
                    case (2, .bytes(let shape)):
                        for case (2, .bytes(let dimension)) in try fields(shape) {
                            for case (1, .varint(let size)) in try fields(dimension) { value.dimensions.append(size) }
                        }
                    case (8, .bytes(let text)): value.strings.append(String(decoding: text, as: UTF8.self))
                    default: throw Malformed(description: "unexpected TensorProto field \(tensorField)")
                    }
                }
            default: throw Malformed(description: "unexpected Summary.Value field \(number)")
            }
        }
        return value
    }
}
