import NIOCore
import Testing

@testable import Proxy

@Suite struct UseModelNameFilterTests {
    static func rename(_ body: [UInt8], to name: String) -> [UInt8]? {
        RequestBodyEdits(useModelName: name, filters: FilterSettings(), requestedID: "m").apply(to: body)
    }

    /// `useModelName` changes the bytes of `model` and nothing else (issue 9's acceptance: odd key order, unicode
    /// escapes, big numbers).
    @Test(arguments: [
        (
            "{\"temperature\":12345678901234567890.5e-3,\"model\":\"client\",\"a\\u00e9\":\"\\ud83d\\ude00\\/\"}",
            "{\"temperature\":12345678901234567890.5e-3,\"model\":\"org/Model-Q4\",\"a\\u00e9\":\"\\ud83d\\ude00\\/\"}"
        ),
        (
            "{\n  \"z\": 1.0,\n  \"model\" : \"c\" ,\n  \"messages\": [{\"model\": \"keep\"}]\n}",
            "{\n  \"z\": 1.0,\n  \"model\" : \"org/Model-Q4\" ,\n  \"messages\": [{\"model\": \"keep\"}]\n}"
        ),
        ("{\"messages\":[]}", "{\"messages\":[],\"model\":\"org/Model-Q4\"}"),
    ])
    func splicesOnlyTheModelValue(body: String, expected: String) throws {
        let rewritten = try #require(Self.rename(Array(body.utf8), to: "org/Model-Q4"))
        #expect(String(decoding: rewritten, as: UTF8.self) == expected)
    }

    @Test(arguments: ["", "not json", "[1]", "{\"model\":\"a\"", "{\"model\":\"a\"} x"])
    func leavesNonObjectsAlone(body: String) {
        #expect(Self.rename(Array(body.utf8), to: "x") == nil)
    }

    /// The pieces sent upstream are slices of the received buffer (same storage, no copy) around the new value.
    @Test func piecesAreSlicesOfTheBody() throws {
        var body = ByteBuffer(string: "....{\"a\":1,\"model\":\"c\",\"b\":[2]}")
        body.moveReaderIndex(forwardBy: 4)
        let pieces = try #require(RequestBodyEdits(useModelName: "n", filters: FilterSettings(), requestedID: "m").apply(to: body))
        #expect(pieces.map { String(buffer: $0) } == ["{\"a\":1,\"model\":", "\"n\"", ",\"b\":[2]}"])
        body.withUnsafeReadableBytes { original in
            pieces[0].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress) }
            pieces[2].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress! + 18) }
        }
    }
}
