import Foundation
import XCTest

@testable import Checkpoint

/// safetensors: the Codable header, reads that map the file, and what malformed headers say.
final class SafeTensorsTests: XCTestCase {
    func bytes(_ tensors: [(String, [Int], [Float])], metadata: [String: String] = ["k": "v"]) -> Data {
        let views = tensors.map { ($0.0, $0.1, $0.2) }
        return views.withUnsafeViews { SafeTensors.encode(tensors: $0, metadata: metadata) }
    }

    func testRoundTripThroughAMappedFile() throws {
        let data = bytes([("b", [2, 2], [1, -2, 3.5, .infinity]), ("a", [3], [0, 1e-40, -0])],
                         metadata: ["x": "y z"])
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual((8 + headerLength) % 8, 0, "data must start 8-byte aligned")
        let path = NSTemporaryDirectory() + "safetensors-\(UUID().uuidString).safetensors"
        try data.write(to: URL(fileURLWithPath: path))
        let file = try SafeTensors.read(path: path)
        // File order, not name order.
        XCTAssertEqual(file.tensors.map(\.name), ["b", "a"])
        XCTAssertEqual(file["b"]?.shape, [2, 2])
        XCTAssertEqual(file["b"]?.values, [1, -2, 3.5, .infinity])
        XCTAssertEqual(file["a"]?.values.map(\.bitPattern), [Float(0), 1e-40, -0].map(\.bitPattern))
        XCTAssertEqual(file.metadata, ["x": "y z"])
        let header = String(decoding: data.dropFirst(8).prefix(200), as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{\"x\":\"y z\"},"
                                       + "\"a\":{\"data_offsets\":[16,28],\"dtype\":\"F32\""), header)
    }

    func testMalformedHeadersNameTheProblem() {
        func header(_ json: String) -> Data {
            var length = UInt64(json.utf8.count).littleEndian
            return Data(bytes: &length, count: 8) + Data(json.utf8) + Data(count: 8)
        }
        let cases = [
            ("[1, 2]", "header is not a JSON object"),
            ("{\"__metadata__\": {\"a\": 1}}", "__metadata__ is not a map of strings"),
            ("{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", "tensor 'w' has no valid dtype, shape and data_offsets"),
            ("{\"w\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}",
             "tensor 'w' has dtype F16; only F32 (and I64, read as F32) is supported"),
            ("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}",
             "has byte range [0, 16] outside the 8 data bytes"),
            ("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 8]}}",
             "impossible shape"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(header(json), source: "x.safetensors")) {
                XCTAssertTrue("\($0)".hasPrefix("x.safetensors: not a valid safetensors checkpoint"), "\($0)")
                XCTAssertTrue("\($0)".contains(expected), "\(json): \($0)")
            }
        }
    }

    /// PyTorch saves BatchNorm's num_batches_tracked as int64: it reads as a Float32 count, so a
    /// torchvision state dict with BatchNorm loads (and the shapes check as F32 ones do).
    func testInt64TensorsReadAsFloat32() throws {
        let json = "{\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
            + "\"c\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]}}"
        var length = UInt64(json.utf8.count).littleEndian
        var data = Data(bytes: &length, count: 8) + Data(json.utf8)
        for value: Int64 in [450_360, -3, 7] { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        let file = try SafeTensors.decode(data, source: "torch.safetensors")
        XCTAssertEqual(file["bn.num_batches_tracked"]?.values, [450_360])
        XCTAssertEqual(file["c"]?.values, [-3, 7])
        // A byte range sized for F32 is refused for an I64 tensor.
        let wrong = "{\"c\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        var wrongLength = UInt64(wrong.utf8.count).littleEndian
        let wrongFile = Data(bytes: &wrongLength, count: 8) + Data(wrong.utf8) + Data(count: 16)
        XCTAssertThrowsError(try SafeTensors.decode(wrongFile, source: "x.safetensors"))
    }

    func testUnreadableFileNamesIt() {
        XCTAssertThrowsError(try SafeTensors.read(path: "/nonexistent/x.safetensors")) {
            XCTAssertEqual("\($0)", "/nonexistent/x.safetensors: cannot be read (missing or no permission)")
        }
    }
}

extension Array where Element == (String, [Int], [Float]) {
    /// The tensors as views over their values, for `SafeTensors.encode`.
    func withUnsafeViews<Result>(_ body: ([SafeTensors.View]) -> Result) -> Result {
        var views: [SafeTensors.View] = []
        func next(_ index: Int) -> Result {
            guard index < count else { return body(views) }
            return self[index].2.withUnsafeBufferPointer { buffer in
                views.append((self[index].0, self[index].1, buffer))
                return next(index + 1)
            }
        }
        return next(0)
    }
}
