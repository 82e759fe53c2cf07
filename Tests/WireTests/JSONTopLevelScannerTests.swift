import Foundation
import Testing
import Wire

@Suite struct JSONTopLevelScannerTests {
    static let seeds: [UInt64] = [1, 2, 3, 7, 42, 1234, 0xDEAD_BEEF, 0x5EED]

    // MARK: Properties against JSONSerialization

    /// Every member's key and value bytes, read by JSONSerialization on their own, equal JSONSerialization's reading
    /// of the whole body; `model` and `stream` decode to what JSONSerialization says.
    @Test(arguments: seeds)
    func membersMatchJSONSerialization(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        for index in 0..<60 {
            let body = samples.object()
            let label = "seed \(seed) sample \(index): \(String(decoding: body, as: UTF8.self))"
            let parsed = try #require(JSONOracle.object(body), "the generator made invalid JSON: \(label)")
            let object = try JSONTopLevelScanner.scan(body)
            #expect(object.members.count == parsed.count, "\(label)")
            try body.withUnsafeBytes { bytes in
                var seen: Set<String> = []
                for member in object.members {
                    let key = try member.key(in: bytes)
                    seen.insert(key)
                    let expected = try #require(parsed[key], "key \(key.debugDescription) not in \(label)")
                    #expect(
                        JSONOracle.canonicalFragment(body[member.valueRange]) == JSONOracle.canonical(expected),
                        "value of \(key.debugDescription) in \(label)")
                }
                #expect(seen == Set(parsed.keys), "\(label)")
                let model = object.first("model", in: bytes)
                if let model, model.kind == .string {
                    #expect(try JSONTopLevelScanner.decodeString(bytes, in: model.valueRange) == parsed["model"] as? String)
                } else {
                    #expect(parsed["model"] as? String == nil, "\(label)")
                }
                if let stream = object.first("stream", in: bytes), stream.kind == .bool {
                    #expect(JSONTopLevelScanner.decodeBool(bytes, in: stream.valueRange) == parsed["stream"] as? Bool)
                }
            }
        }
    }

    /// Stopping after the wanted keys reads a prefix of the same members, and ends right after the last wanted one.
    @Test(arguments: seeds)
    func stoppingEarlyReadsAPrefix(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        for _ in 0..<60 {
            let body = samples.object()
            let whole = try JSONTopLevelScanner.scan(body)
            let early = try JSONTopLevelScanner.scan(body, stopAfter: ["model", "stream"])
            #expect(Array(whole.members.prefix(early.members.count)) == early.members)
            let keys = try body.withUnsafeBytes { bytes in try early.members.map { try $0.key(in: bytes) } }
            if keys.contains("model") && keys.contains("stream") {
                #expect(early.closeBrace == nil)
                #expect(keys.last == "model" || keys.last == "stream")
                #expect(keys.filter { $0 == "model" || $0 == "stream" }.count == 2)
            } else {
                #expect(early.closeBrace == whole.closeBrace)
                #expect(early.members.count == whole.members.count)
            }
        }
    }

    /// Every truncation of a body is an error (never a crash, a hang or a wrong answer) until the closing brace is
    /// in, and the same answer after it.
    @Test(arguments: seeds)
    func everyTruncation(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        for _ in 0..<8 {
            let body = samples.object()
            let whole = try JSONTopLevelScanner.scan(body)
            let close = try #require(whole.closeBrace)
            for length in 0..<body.count {
                let prefix = Array(body[..<length])
                if length > close {
                    #expect(try JSONTopLevelScanner.scan(prefix) == whole)
                } else {
                    #expect(throws: JSONScanError.self, "length \(length) of \(body.count)") {
                        try JSONTopLevelScanner.scan(prefix)
                    }
                    // Stopping early may answer from a prefix, but then only with members that are really there.
                    if let early = try? JSONTopLevelScanner.scan(prefix, stopAfter: ["model", "stream"]) {
                        #expect(Array(whole.members.prefix(early.members.count)) == early.members)
                    }
                }
            }
        }
    }

    /// One corrupted byte: the scanner never crashes; whenever JSONSerialization still reads an object, the scanner
    /// reads the same keys; and it rejects with a JSONScanError inside the body otherwise (never a crash or hang).
    @Test(arguments: seeds)
    func corruptedBodies(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        for _ in 0..<300 {
            let body = samples.corrupt(samples.object())
            let parsed = JSONOracle.object(body)
            do {
                let object = try JSONTopLevelScanner.scan(body)
                if let parsed {
                    let keys = try body.withUnsafeBytes { bytes in try object.members.map { try $0.key(in: bytes) } }
                    #expect(Set(keys) == Set(parsed.keys))
                }
            } catch let error as JSONScanError {
                // Foundation's reader also takes a trailing comma (`[1,]`, `{"a":1,}`); JSON, llama-server and this
                // scanner do not.
                if parsed != nil, !Self.isTrailingComma(body, at: error.offset) {
                    Issue.record("rejected valid JSON: \(error): \(String(decoding: body, as: UTF8.self))")
                }
                #expect(error.offset <= body.count)
            }
        }
    }

    /// A `}` or `]` at `offset` right after a comma (whitespace between).
    static func isTrailingComma(_ body: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset < body.count, body[offset] == UInt8(ascii: "}") || body[offset] == UInt8(ascii: "]") else {
            return false
        }
        let before = body[..<offset].last { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return before == UInt8(ascii: ",")
    }

    // MARK: Examples

    @Test(arguments: [
        ("{\"a\":}", JSONScanError.Reason.unexpectedByte(UInt8(ascii: "}"))),
        ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{,}", .unexpectedByte(UInt8(ascii: ","))),
        ("{\"a\" 1}", .unexpectedByte(UInt8(ascii: "1"))),
        ("{\"a\":01}", .unexpectedByte(UInt8(ascii: "1"))),
        ("{\"a\":1.}", .invalidNumber),
        ("{\"a\":-}", .invalidNumber),
        ("{\"a\":.5}", .unexpectedByte(UInt8(ascii: "."))),
        ("{\"a\":+1}", .unexpectedByte(UInt8(ascii: "+"))),
        ("{\"a\":1e}", .invalidNumber),
        ("{\"a\":tru}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{\"a\":nul", .unexpectedEnd),
        ("{\"a\":\"\\x\"}", .invalidEscape),
        ("{\"a\":\"\\u12\"}", .invalidEscape),
        ("{\"a\":\"line\nbreak\"}", .controlCharacterInString),
        ("{\"a\":[1,]}", .unexpectedByte(UInt8(ascii: "]"))),
        ("{\"a\":[1}", .unexpectedByte(UInt8(ascii: "}"))),
        ("{\"a\":{\"b\":1]}", .unexpectedByte(UInt8(ascii: "]"))),
        ("{\"a\":{1:2}}", .unexpectedByte(UInt8(ascii: "1"))),
        ("[1]", .notAnObject),
        ("\"model\"", .notAnObject),
        ("", .unexpectedEnd),
        ("   ", .unexpectedEnd),
        ("{\"a\":1} x", .trailingBytes),
        ("{\"a\":1}}", .trailingBytes),
        ("{\"a\":1", .unexpectedEnd),
        ("{\"a", .unexpectedEnd),
        ("{\"a\":\"\\", .unexpectedEnd),
        ("{'a':1}", .unexpectedByte(UInt8(ascii: "'"))),
    ])
    func invalidJSONIsAClearError(text: String, reason: JSONScanError.Reason) {
        if !Self.isTrailingComma(Array(text.utf8), at: text.utf8.count - 1 - (text.hasSuffix("]}") ? 1 : 0)) {
            #expect(JSONOracle.object(Array(text.utf8)) == nil, "JSONSerialization reads \(text.debugDescription)")
        }
        do {
            _ = try JSONTopLevelScanner.scan(Array(text.utf8))
            Issue.record("accepted \(text.debugDescription)")
        } catch let error as JSONScanError {
            #expect(error.reason == reason, "\(text.debugDescription): \(error)")
            #expect(error.description.hasPrefix("invalid JSON at byte \(error.offset): "))
        } catch {
            Issue.record("not a JSONScanError: \(error)")
        }
    }

    /// The string loop reads eight bytes at a time: a quote, backslash or control character is found at every
    /// position of a word, and bytes next to them in value (and bytes of multi-byte UTF-8) are not mistaken for them.
    @Test(arguments: [0x22, 0x5C, 0x00, 0x0A, 0x1F, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xDC, 0xFF] as [UInt8])
    func specialBytesAtEveryAlignment(byte: UInt8) throws {
        for position in 0..<24 {
            var content = [UInt8](repeating: UInt8(ascii: "a"), count: 24)
            content[position] = byte
            let body = Array("{\"k\":\"".utf8) + content + Array("\"}".utf8)
            let object = try? JSONTopLevelScanner.scan(body)
            if byte == 0x22 || byte == 0x5C || byte < 0x20 {
                #expect(object == nil, "byte \(byte) at \(position) accepted")
            } else {
                #expect(object?.members.first?.valueRange == 5..<31, "byte \(byte) at \(position)")
            }
        }
    }

    @Test func errorsNameTheOffset() throws {
        let error = try #require(throws: JSONScanError.self) { try JSONTopLevelScanner.scan(Array("{\"a\": [1, 2 x".utf8)) }
        #expect(error.offset == 12)
        #expect(error.description == "invalid JSON at byte 12: unexpected 'x'")
    }

    /// Nesting costs no call stack: a million levels deep, valid or cut off, is scanned without overflowing it.
    @Test(arguments: [true, false])
    func deepNestingWithoutRecursion(closed: Bool) throws {
        let depth = 1_000_000
        var text = Array("{\"messages\":".utf8)
        text += [UInt8](repeating: UInt8(ascii: "["), count: depth)
        if closed { text += [UInt8](repeating: UInt8(ascii: "]"), count: depth) + Array(",\"model\":\"m\"}".utf8) }
        if closed {
            let object = try JSONTopLevelScanner.scan(text)
            #expect(object.members.map(\.kind) == [.array, .string])
        } else {
            #expect(throws: JSONScanError(.unexpectedEnd, at: text.count)) { try JSONTopLevelScanner.scan(text) }
        }
    }

    @Test func duplicateKeysAreAllReportedAndTheFirstIsFound() throws {
        let body = Array("{\"model\":\"first\",\"mo\\u0064el\":\"second\"}".utf8)
        let object = try JSONTopLevelScanner.scan(body)
        #expect(object.members.count == 2)
        try body.withUnsafeBytes { bytes in
            let first = try #require(object.first("model", in: bytes))
            #expect(try JSONTopLevelScanner.decodeString(bytes, in: first.valueRange) == "first")
        }
    }

    @Test(arguments: [
        ("\"plain\"", "plain"),
        ("\"caf\\u00e9 \\u00E9\"", "café é"),
        ("\"\\uD83D\\uDE00 😀\"", "😀 😀"),
        ("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\u{08}\u{0C}\n\r\t"),
        ("\"\"", ""),
        ("\"模型/q4\"", "模型/q4"),
    ])
    func decodesStrings(json: String, text: String) throws {
        let bytes = Array(json.utf8)
        let decoded = try bytes.withUnsafeBytes { try JSONTopLevelScanner.decodeString($0, in: 0..<bytes.count) }
        #expect(decoded == text)
    }

    @Test(arguments: ["\"\\uD83D\"", "\"\\uDE00\"", "\"\\uD83Dx\"", "\"\\uD83D\\u0041\""])
    func loneSurrogatesAreErrors(json: String) {
        let bytes = Array(json.utf8)
        #expect(throws: JSONScanError.self) {
            try bytes.withUnsafeBytes { try JSONTopLevelScanner.decodeString($0, in: 0..<bytes.count) }
        }
    }

    @Test func invalidUTF8InADecodedValueIsAnError() {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x22]
        #expect(throws: JSONScanError(.invalidUTF8, at: 0)) {
            try bytes.withUnsafeBytes { try JSONTopLevelScanner.decodeString($0, in: 0..<bytes.count) }
        }
    }

    @Test func rangesPointAtTheBytes() throws {
        let text = " {\n  \"model\" :\t\"m\" ,\"n\":[1, {\"model\":2}] , \"stream\":true }\n"
        let body = Array(text.utf8)
        let object = try JSONTopLevelScanner.scan(body)
        let pieces = object.members.map {
            (String(decoding: body[$0.keyRange], as: UTF8.self), String(decoding: body[$0.valueRange], as: UTF8.self))
        }
        #expect(pieces.map(\.0) == ["\"model\"", "\"n\"", "\"stream\""])
        #expect(pieces.map(\.1) == ["\"m\"", "[1, {\"model\":2}]", "true"])
        #expect(object.members.map(\.kind) == [.string, .array, .bool])
        #expect(object.openBrace == 1)
        #expect(object.closeBrace == body.count - 2)
    }

    @Test(arguments: ["{}", " { } ", "{\"a\":{}}", "{\"a\":[]}", "{\"a\":[[],{}]}"])
    func emptyContainers(text: String) throws {
        _ = try JSONTopLevelScanner.scan(Array(text.utf8))
    }

    @Test(arguments: ["1", "\"s\"", " [1, {\"a\": null}] ", "true", "12345678901234567890.5e-3"])
    func validatesSingleValues(text: String) throws {
        _ = try Array(text.utf8).withUnsafeBytes { try JSONTopLevelScanner.validateValue($0) }
    }

    @Test(arguments: ["", "1 2", "[1", "{\"a\":1}x", "tru"])
    func rejectsNonValues(text: String) {
        #expect(throws: JSONScanError.self) {
            try Array(text.utf8).withUnsafeBytes { try JSONTopLevelScanner.validateValue($0) }
        }
    }
}
