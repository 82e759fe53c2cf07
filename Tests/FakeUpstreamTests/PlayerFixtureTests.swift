import Foundation
import Testing

@testable import FakeUpstream

// Helpers shared by the player's tests: reading reference captures, taking raw HTTP apart, and listing JSON keys
// in order. They are tested here too, against the captures, so a broken helper cannot make a comparison pass.

/// A reference capture from `Fixtures/llama-server/`.
func fixture(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/llama-server/\(name)")
    return Array(try Data(contentsOf: url))
}

/// A raw HTTP/1.1 response taken apart: status line, header lines, body, and (if chunked) its chunks.
struct RawResponse {
    var statusLine: String
    var headerLines: [String]
    var body: [UInt8]
    /// The chunks' payloads, in order, without the terminator; nil when the body is not chunked.
    var chunks: [[UInt8]]?
    /// Whether the chunked body ended with `0\r\n\r\n`.
    var terminated: Bool

    init(_ bytes: [UInt8]) throws {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.firstRange(of: separator) else { throw ParseFailure("no end of head") }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        statusLine = lines.removeFirst()
        headerLines = lines
        body = Array(bytes[end.upperBound...])
        terminated = false
        let chunked = lines.contains { $0.lowercased() == "transfer-encoding: chunked" }
        guard chunked else {
            chunks = nil
            return
        }
        var chunks: [[UInt8]] = []
        var index = body.startIndex
        while index < body.endIndex {
            guard let lineEnd = body[index...].firstRange(of: Array("\r\n".utf8)) else {
                throw ParseFailure("chunk size line without CRLF")
            }
            let sizeText = String(decoding: body[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16) else { throw ParseFailure("bad chunk size '\(sizeText)'") }
            let start = lineEnd.upperBound
            guard start + size + 2 <= body.endIndex else { throw ParseFailure("chunk runs past the end") }
            guard body[start + size] == 0x0D, body[start + size + 1] == 0x0A else {
                throw ParseFailure("chunk not followed by CRLF")
            }
            if size == 0 {
                terminated = start + 2 == body.endIndex
                break
            }
            chunks.append(Array(body[start..<(start + size)]))
            index = start + size + 2
        }
        self.chunks = chunks
    }

    /// Header names, in order.
    var headerNames: [String] { headerLines.map { String($0.prefix { $0 != ":" }) } }

    /// Header lines with the value of `Content-Length` blanked (it depends on the body's text).
    var headerLinesIgnoringLength: [String] {
        headerLines.map { $0.lowercased().hasPrefix("content-length:") ? "Content-Length: *" : $0 }
    }
}

struct ParseFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The `data:` payloads of the SSE events in `bytes` (LF-terminated events, as llama-server writes them).
func ssePayloads(_ bytes: [UInt8]) -> [String] {
    String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
        $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : $0
    }
}

/// Every object key in `json`, as a dotted path (`choices[].delta.content`), in order of appearance.
func jsonKeyPaths(_ json: String) throws -> [String] {
    var parser = KeyPathParser(bytes: Array(json.utf8))
    try parser.value(path: "")
    parser.skipSpace()
    guard parser.index == parser.bytes.count else { throw ParseFailure("trailing bytes after JSON") }
    return parser.paths
}

private struct KeyPathParser {
    let bytes: [UInt8]
    var index = 0
    var paths: [String] = []

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { throw ParseFailure("expected \(Character(.init(byte))) at \(index)") }
        index += 1
    }

    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < bytes.count else { throw ParseFailure("unterminated string") }
        defer { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func value(path: String) throws {
        skipSpace()
        guard index < bytes.count else { throw ParseFailure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            skipSpace()
            if bytes[index] == UInt8(ascii: "}") { index += 1; return }
            while true {
                let key = try string()
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                paths.append(keyPath)
                try expect(UInt8(ascii: ":"))
                try value(path: keyPath)
                skipSpace()
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            index += 1
            skipSpace()
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            while true {
                try value(path: path + "[]")
                skipSpace()
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "\""):
            _ = try string()
        default:
            let start = index
            while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A]
                .contains(bytes[index])
            {
                index += 1
            }
            guard index > start else { throw ParseFailure("empty value at \(start)") }
        }
    }
}

extension ResponsePlan {
    /// The bytes of every write, in order.
    var writes: [[UInt8]] {
        actions.compactMap { if case .write(let bytes) = $0.action { bytes } else { nil } }
    }

    /// Everything the plan writes, as one byte string.
    var allBytes: [UInt8] { writes.flatMap { $0 } }

    /// The plan's ending.
    var ending: Ending? {
        if case .end(let ending) = actions.last?.action { ending } else { nil }
    }

    /// The writes as text, for readable expectations.
    var writeTexts: [String] { writes.map { String(decoding: $0, as: UTF8.self) } }
}

@Suite struct PlayerFixtureTests {
    @Test func chatStreamCaptureParses() throws {
        let response = try RawResponse(try fixture("chat_stream.raw"))
        #expect(response.statusLine == "HTTP/1.1 200 OK")
        #expect(response.headerNames.first == "Server")
        let chunks = try #require(response.chunks)
        #expect(chunks.count == 18)
        #expect(ssePayloads(chunks[0]).count == 2)
        #expect(response.terminated)
    }

    @Test func keyPathsFollowNestingAndOrder() throws {
        let paths = try jsonKeyPaths(#"{"b":[{"x":1,"y":{"z":null}}],"a":"s\"}","c":[]}"#)
        #expect(paths == ["b", "b[].x", "b[].y", "b[].y.z", "a", "c"])
    }

    @Test func keyPathsRejectBrokenJSON() {
        #expect(throws: ParseFailure.self) { try jsonKeyPaths(#"{"a":"#) }
    }

    @Test func chunkParserRejectsBadFraming() {
        let bytes = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\r\n".utf8)
        #expect(throws: ParseFailure.self) { try RawResponse(bytes) }
    }
}
