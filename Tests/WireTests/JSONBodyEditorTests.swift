import Foundation
import Testing
import Wire

@Suite struct JSONBodyEditorTests {
    static func edit(_ text: String, _ edits: [JSONBodyEditor.Edit]) throws -> String {
        let body = Array(text.utf8)
        return String(decoding: try JSONBodyEditor.plan(edits, for: body).apply(to: body), as: UTF8.self)
    }

    /// Setting `model` changes its value's bytes and nothing else: odd key order, escapes in other keys and values,
    /// big numbers, pretty-printing and duplicate keys of other names stay byte for byte.
    @Test(arguments: [
        (
            "{\"zeta\":1,\"model\":\"client-id\",\"alpha\":12345678901234567890.5e-3}",
            "{\"zeta\":1,\"model\":\"org/big\",\"alpha\":12345678901234567890.5e-3}"
        ),
        (
            "{\n  \"messages\": [{\"role\": \"user\", \"content\": \"caf\\u00e9 \\ud83d\\ude00 \\/\"}],\n  \"model\" : \"x\",\n  \"n\": 1.0E+2\n}\n",
            "{\n  \"messages\": [{\"role\": \"user\", \"content\": \"caf\\u00e9 \\ud83d\\ude00 \\/\"}],\n  \"model\" : \"org/big\",\n  \"n\": 1.0E+2\n}\n"
        ),
        (
            "{\"mo\\u0064el\":\"x\",\"b\":-0,\"b\":0}",
            "{\"mo\\u0064el\":\"org/big\",\"b\":-0,\"b\":0}"
        ),
        ("{\"model\":{\"model\":\"nested\"},\"x\":[\"model\"]}", "{\"model\":\"org/big\",\"x\":[\"model\"]}"),
        ("{\"model\":\"a\",\"model\":\"b\"}", "{\"model\":\"org/big\",\"model\":\"org/big\"}"),
        ("{\"stream\":true}", "{\"stream\":true,\"model\":\"org/big\"}"),
        ("{ }", "{ \"model\":\"org/big\"}"),
        ("  {\"a\":1}  ", "  {\"a\":1,\"model\":\"org/big\"}  "),
    ])
    func setModelTouchesOnlyItsValue(body: String, expected: String) throws {
        #expect(try Self.edit(body, [.set(key: "model", string: "org/big")]) == expected)
    }

    @Test(arguments: [
        ("{\"a\":1,\"b\":2,\"c\":3}", ["b"], "{\"a\":1,\"c\":3}"),
        ("{\"a\":1,\"b\":2,\"c\":3}", ["a"], "{\"b\":2,\"c\":3}"),
        ("{\"a\":1,\"b\":2,\"c\":3}", ["c"], "{\"a\":1,\"b\":2}"),
        ("{\"a\":1,\"b\":2,\"c\":3}", ["b", "c"], "{\"a\":1}"),
        ("{\"a\":1,\"b\":2,\"c\":3}", ["a", "b", "c"], "{}"),
        ("{ \"a\" : 1 , \"b\" : 2 }", ["a"], "{ \"b\" : 2 }"),
        ("{ \"a\" : 1 , \"b\" : 2 }", ["b"], "{ \"a\" : 1 }"),
        ("{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}", ["b"], "{\n  \"a\": 1,\n  \"c\": 3\n}"),
        ("{\"a\":1,\"x\":2,\"a\":3}", ["a"], "{\"x\":2}"),
        ("{\"a\":1}", ["zzz"], "{\"a\":1}"),
        ("{\"caf\\u00e9\":1,\"d\":2}", ["café"], "{\"d\":2}"),
    ])
    func removeKeys(body: String, keys: [String], expected: String) throws {
        #expect(try Self.edit(body, keys.map { .remove(key: $0) }) == expected)
    }

    @Test func laterEditsOfOneKeyWin() throws {
        let body = "{\"a\":1,\"b\":2}"
        #expect(try Self.edit(body, [.remove(key: "a"), .set(key: "a", rawJSON: Array("[true]".utf8))]) == "{\"a\":[true],\"b\":2}")
        #expect(try Self.edit(body, [.set(key: "a", rawJSON: Array("3".utf8)), .remove(key: "a")]) == "{\"b\":2}")
        #expect(
            try Self.edit(body, [.set(key: "c", rawJSON: Array("null".utf8)), .set(key: "d", string: "q\"")])
                == "{\"a\":1,\"b\":2,\"c\":null,\"d\":\"q\\\"\"}")
    }

    @Test func unchangedBodiesAreOneSegment() throws {
        let body = Array("{\"a\":1, \"b\":[2]}".utf8)
        let plan = try JSONBodyEditor.plan([.remove(key: "zzz")], for: body)
        #expect(plan.isIdentity)
        #expect(plan.segments == [.original(0..<body.count)])
        let changed = try JSONBodyEditor.plan([.set(key: "a", rawJSON: Array("7".utf8))], for: body)
        #expect(!changed.isIdentity)
        #expect(changed.segments == [.original(0..<5), .inserted(Array("7".utf8)), .original(6..<body.count)])
        #expect(changed.count == body.count)
    }

    @Test(arguments: ["{\"a\":1", "[1]", "", "{\"a\":1} x", "{\"a\":01}"])
    func invalidBodiesAreRefused(body: String) {
        #expect(throws: JSONScanError.self) { try Self.edit(body, [.set(key: "model", string: "m")]) }
    }

    @Test(arguments: ["", "1 2", "{", "model"])
    func invalidValuesAreRefused(raw: String) {
        #expect(throws: JSONBodyEditor.InvalidEdit.self) {
            try Self.edit("{}", [.set(key: "a", rawJSON: Array(raw.utf8))])
        }
    }

    /// Random bodies and random edits: the result reads (JSONSerialization) as the original with the edits applied;
    /// for a set of a present key the bytes are exactly the original with that value's bytes swapped; every member
    /// left alone keeps its bytes, in order.
    @Test(arguments: JSONTopLevelScannerTests.seeds)
    func randomEditsChangeOnlyWhatTheyName(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        let candidates = ["model", "stream", "messages", "temperature", "café", "absent", ""]
        let newValues = ["\"org/big\"", "12345678901234567890.5e-3", "{\"k\":[1,\"\\u00e9\"]}", "false", "null"]
        for index in 0..<60 {
            let body = samples.object()
            let label = "seed \(seed) sample \(index): \(String(decoding: body, as: UTF8.self))"
            let original = try #require(JSONOracle.object(body))
            var edits: [JSONBodyEditor.Edit] = []
            for key in candidates where samples.random.chance(30) {
                edits.append(
                    samples.random.chance(50)
                        ? .remove(key: key) : .set(key: key, rawJSON: Array(samples.random.pick(newValues).utf8)))
            }
            let result = try JSONBodyEditor.plan(edits, for: body).apply(to: body)
            let edited = try #require(JSONOracle.object(result), "invalid result for \(label)")
            var expected = original
            for edit in edits {
                switch edit {
                case .remove(let key): expected[key] = nil
                case .set(let key, let raw):
                    expected[key] = try JSONSerialization.jsonObject(with: Data(raw), options: .fragmentsAllowed)
                }
            }
            #expect(JSONOracle.canonical(edited) == JSONOracle.canonical(expected), "\(label)")

            // Members nobody named keep their exact bytes, in order.
            let named = Set(edits.map { edit -> String in
                switch edit {
                case .remove(let key), .set(let key, _): key
                }
            })
            let before = try JSONTopLevelScanner.scan(body)
            let after = try JSONTopLevelScanner.scan(result)
            func untouched(_ object: JSONTopLevelScanner.Object, _ bytes: [UInt8]) throws -> [[UInt8]] {
                try bytes.withUnsafeBytes { raw in
                    try object.members.filter { !named.contains(try $0.key(in: raw)) }.map {
                        Array(bytes[$0.keyRange.lowerBound..<$0.valueRange.upperBound])
                    }
                }
            }
            #expect(try untouched(before, body) == untouched(after, result), "\(label)")
            // Bytes outside the members (whitespace around the object) are kept.
            #expect(Array(result[..<after.openBrace]) == Array(body[..<before.openBrace]))
            #expect(Array(result[after.closeBrace!...]) == Array(body[before.closeBrace!...]))
        }
    }

    /// A single set of a key that is present once: exactly the original bytes around the new value.
    @Test(arguments: JSONTopLevelScannerTests.seeds)
    func setSplicesExactly(seed: UInt64) throws {
        var samples = JSONSamples(seed: seed)
        for _ in 0..<60 {
            let body = samples.object()
            let object = try JSONTopLevelScanner.scan(body)
            let models = try body.withUnsafeBytes { raw in try object.members.filter { try $0.key(in: raw) == "model" } }
            guard models.count == 1, let model = models.first else { continue }
            let result = try JSONBodyEditor.plan([.set(key: "model", string: "n/ew")], for: body).apply(to: body)
            #expect(
                result == Array(body[..<model.valueRange.lowerBound]) + Array("\"n/ew\"".utf8)
                    + Array(body[model.valueRange.upperBound...]))
        }
    }
}
