import NIOCore
import Testing
import Wire

@testable import Proxy

/// Issue 9's acceptance: `useModelName` and `filters` leave every other byte of the body as sent. Bodies are built
/// from members written in odd ways (key order, `\u00e9` escapes in keys and strings, big and odd numbers, nested
/// objects holding the same key names, pretty-printed layouts); the expected body is built the same way from the
/// members that remain, with only the changed values replaced and the added members appended — independently of
/// the editor.
@Suite struct FilterByteIdentityTests {
    /// How a body is laid out: what comes after `{`, between members, around `:`, and before `}`.
    struct Layout: Sendable, CustomTestStringConvertible {
        var name: String
        var open: String
        var separator: String
        var colon: String
        var close: String
        var testDescription: String { name }

        func render(_ members: [(key: String, value: String)], added: [(key: String, value: String)] = []) -> String {
            "{" + open + members.map { $0.key + colon + $0.value }.joined(separator: separator)
                + added.map { ",\(JSONText.quote($0.key)):\($0.value)" }.joined() + close + "}"
        }
    }

    static let layouts = [
        Layout(name: "compact", open: "", separator: ",", colon: ":", close: ""),
        Layout(name: "pretty", open: "\n  ", separator: ",\n  ", colon: ": ", close: "\n"),
        Layout(name: "odd spaces", open: " \t", separator: " ,\r\n\t ", colon: " :  ", close: " \n "),
    ]

    /// Members as written (key with its quotes and escapes, raw value), in an odd order.
    static let members: [(key: String, value: String)] = [
        (#""zeta""#, "1.50E+3"),
        (#""messages""#, #"[{"role":"user","content":"caf\u00e9 \"temperature\":1 {\"model\":\"x\"}\n","temperature":2}]"#),
        (#""temp\u0065rature""#, "12345678901234567890.5e-3"),
        (#""model""#, #""client-id""#),
        (#""caf\u00e9""#, #""\ud83d\ude00\/\u00E9""#),
        (#""seed""#, "-0.0e0"),
        (#""nested""#, #"{ "top_p" : 3, "model" : "inner", "seed": [1, {"seed": 2}] }"#),
        (#""top_p""#, "123456789012345678901234567890"),
        (#""stream""#, "true"),
    ]

    @Test(arguments: layouts)
    func onlyTheNamedMembersChange(layout: Layout) throws {
        let body = layout.render(Self.members)
        let filters = try RequestBodyFilterTests.filters(
            """
                  stripParams: "temperature, seed"
                  setParams:
                    top_p: 0.25
                    max_tokens: 512

            """)
        let edits = RequestBodyEdits(useModelName: "org/Real-Q4", filters: filters, requestedID: "m")
        let result = try #require(edits.apply(to: Array(body.utf8)))

        var expected = Self.members.filter { ![#""temp\u0065rature""#, #""seed""#].contains($0.key) }
        expected[expected.firstIndex { $0.key == #""model""# }!].value = #""org/Real-Q4""#
        expected[expected.firstIndex { $0.key == #""top_p""# }!].value = "0.25"
        let expectedBody = layout.render(expected, added: [("max_tokens", "512")])
        #expect(String(decoding: result, as: UTF8.self) == expectedBody)
    }

    /// Edits that change nothing (strip an absent key, no rename) give back the very bytes received.
    @Test(arguments: layouts)
    func absentKeysLeaveTheBodyAlone(layout: Layout) throws {
        let body = layout.render(Self.members)
        let filters = try RequestBodyFilterTests.filters("      stripParams: \"logprobs, n\"\n")
        let pieces = try #require(
            RequestBodyEdits(useModelName: nil, filters: filters, requestedID: "m").apply(to: ByteBuffer(string: body)))
        #expect(pieces.count == 1)
        #expect(pieces.first.map { String(buffer: $0) } == body)
    }

    /// The pieces sent upstream are slices of the received buffer (same storage, no copy) around the new bytes.
    @Test func piecesAreSlicesOfTheBody() throws {
        var body = ByteBuffer(string: "....{\"a\":1,\"temperature\":0.5,\"b\":[2]}")
        body.moveReaderIndex(forwardBy: 4)
        let filters = try RequestBodyFilterTests.filters("      stripParams: temperature\n      setParams: {c: 3}\n")
        let pieces = try #require(RequestBodyEdits(useModelName: nil, filters: filters, requestedID: "m").apply(to: body))
        #expect(pieces.map { String(buffer: $0) } == ["{\"a\":1", ",\"b\":[2]", ",\"c\":3", "}"])
        body.withUnsafeReadableBytes { original in
            pieces[0].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress) }
            pieces[1].withUnsafeReadableBytes { #expect($0.baseAddress == original.baseAddress! + 24) }
        }
    }
}
