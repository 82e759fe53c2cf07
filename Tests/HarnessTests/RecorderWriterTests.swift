import FakeUpstream
import Foundation
import Harness
import Testing

/// The pure parts of the recorder: byte escaping, redaction, and the file writer.
@Suite struct RecorderWriterTests {
    /// `bytes` written as a `write:` value and read back by the scenario parser.
    static func roundTrip(_ bytes: [UInt8]) throws -> [UInt8] {
        let yaml = "description: d\nresponses:\n  - steps:\n      - write: \(YAMLText.bytes(bytes))\n"
        let steps = try #require(
            try ScenarioParser.parse(yaml: yaml, file: "t.yaml").rules.first?.responses.first?.steps)
        guard case .write(let read) = try #require(steps.first) else {
            Issue.record("expected a write step")
            return []
        }
        return read
    }

    @Test(arguments: [
        Array("data: {\"a\":\"b\\\\c\"}\n\n".utf8),
        Array("e4\r\ndata: x\r\n\r\n0\r\n\r\n".utf8),
        Array(0...0x7F),
        Array("\u{85}\u{2028}\u{2029}\u{FEFF}é€😀\u{A0}\u{FFFE}".utf8),
        Array("  leading and trailing  ".utf8),
        Array("#not a comment: {x} [y] & * ! | > ' % @ `".utf8),
        [],
    ])
    func textBytesSurviveTheParserAsReadableStrings(bytes: [UInt8]) throws {
        #expect(YAMLText.bytes(bytes).hasPrefix("\""))
        #expect(!YAMLText.bytes(bytes).contains("\n"), "one line")
        #expect(try Self.roundTrip(bytes) == bytes)
    }

    @Test(arguments: [[0xFF], [0xE2, 0x82], [0x61, 0xC3], Array("ok".utf8) + [0x80]])
    func invalidUTF8BecomesBase64(bytes: [UInt8]) throws {
        #expect(YAMLText.bytes(bytes).hasPrefix("{base64: "))
        #expect(try Self.roundTrip(bytes) == bytes)
    }

    @Test func commentsNeverEndEarly() throws {
        let lines = YAMLText.comment("a\nb\rc\u{85}d\u{2028}e")
        #expect(lines == ["# a", "# b\\u000Dc\\u0085d\\u2028e"])
        let yaml = lines.joined(separator: "\n") + "\ndescription: d\n"
        #expect(try ScenarioParser.parse(yaml: yaml, file: "t.yaml").description == "d")
    }

    // The response's framing and head (where it ends, its fields as written): RawHTTPTests, on the one decoder.

    // MARK: Redaction

    @Test(arguments: [
        ("Authorization", "Bearer sk-1", "Bearer [redacted]"), ("authorization", "sk-1", "[redacted]"),
        ("X-API-Key", "k", "[redacted]"), ("Cookie", "a=b; c=d", "[redacted]"),
        ("Proxy-Authorization", "Basic abc", "Basic [redacted]"),
        ("Content-Type", "application/json", "application/json"),
    ])
    func secretHeaderValuesAreReplaced(name: String, value: String, shown: String) {
        #expect(HeaderRedaction.redact(name: name, value: value) == shown)
    }

    // MARK: Writer

    static func exchange(reads: [RecordedRead], ending: Ending, endedAt: Duration? = nil) -> RecordedExchange {
        RecordedExchange(
            request: RecordedRequest(
                method: "POST", uri: "/v1/chat/completions?x=1",
                headers: [
                    HeaderField("Authorization", "Bearer sk-9"), HeaderField("Content-Type", "application/json"),
                ],
                body: Array("{\"messages\":[{\"content\":\"line\\nnext\r\n# not yaml\"}]}".utf8)),
            reads: reads, ending: ending, endedAt: endedAt, upstream: "http://127.0.0.1:8080",
            date: Date(timeIntervalSince1970: 1_800_000_000))
    }

    static let head = Array(
        "HTTP/1.1 200 OK\r\nServer: llama.cpp\r\nTransfer-Encoding: chunked\r\nSet-Cookie: id=42\r\n\r\n".utf8)

    @Test func manyOddOffsetsAddUpWithoutDrift() throws {
        var reads = [RecordedRead(offset: .nanoseconds(1_234_567), bytes: Self.head)]
        var offset: Int64 = 1_234_567
        for index in 0..<1000 {
            offset += 1_000_777 + Int64(index % 7) * 333
            reads.append(
                RecordedRead(offset: .nanoseconds(offset), bytes: HTTPWire.chunk(Array("data: \(index)\n\n".utf8))))
        }
        let yaml = RecordingWriter.yaml(
            for: Self.exchange(reads: reads, ending: .close, endedAt: .nanoseconds(offset + 400_000)))
        let steps = try RecordedSteps(scenario: try ScenarioParser.parse(yaml: yaml, file: "t.yaml"))
        #expect(steps.writes.count == reads.count)
        for (write, read) in zip(steps.writes, reads) {
            #expect(abs((write.at - read.offset) / .nanoseconds(1)) <= 500, "rounded once to the microsecond")
        }
        #expect(steps.ending == .close)
        #expect(yaml.hasSuffix("      - wait: 0.400ms\n      - end: close\n"))
    }

    @Test func headAndFirstBodyBytesInOneReadBecomeAStatusStepAndAWrite() throws {
        let reads = [RecordedRead(offset: .milliseconds(5), bytes: Self.head + HTTPWire.chunk(Array("hi".utf8)))]
        let yaml = RecordingWriter.yaml(for: Self.exchange(reads: reads, ending: .hang))
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "t.yaml")
        let steps = try RecordedSteps(scenario: scenario)
        #expect(steps.writes.map(\.at) == [.milliseconds(5), .milliseconds(5)])
        #expect(steps.writes[1].bytes == Array("2\r\nhi\r\n".utf8))
        #expect(steps.ending == .hang)
        #expect(scenario.strict)
        #expect(scenario.rules.first?.match == RequestMatch(method: "POST", path: "/v1/chat/completions"))
        #expect(
            scenario.description.contains("POST /v1/chat/completions recorded from llama.cpp at http://127.0.0.1:8080"))
        #expect(yaml.contains("Set-Cookie: \"[redacted]\""), "cookies from the upstream are secrets too")
        #expect(yaml.contains("#   Authorization: Bearer [redacted]"))
        #expect(!yaml.contains("sk-9"))
        #expect(
            yaml.contains("#   {\"messages\":[{\"content\":\"line\\nnext\n#   # not yaml\"}]}\n"),
            "the body stays a comment")
        #expect(!yaml.contains("id=42") && !yaml.contains(Data(Self.head).base64EncodedString()))
    }

    @Test func anUpstreamThatClosesWithoutAnsweringIsAWaitAndAFin() throws {
        let yaml = RecordingWriter.yaml(for: Self.exchange(reads: [], ending: .fin, endedAt: .milliseconds(1500)))
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "t.yaml")
        let steps = try #require(scenario.rules.first?.responses.first?.steps)
        #expect(steps.count == 2)
        guard case .wait(let wait) = steps[0], case .end(let end) = steps[1] else {
            Issue.record("expected wait, end; got \(steps)")
            return
        }
        #expect(wait == .milliseconds(1500))
        #expect(end == .fin)
    }

    @Test func fileNamesAreNumberedSlugs() {
        let exchange = Self.exchange(reads: [], ending: .clean)
        #expect(RecordingWriter.fileName(for: exchange, number: 7) == "0007-post-v1-chat-completions.yaml")
    }
}

/// Heads a `status` step cannot say exactly still give a valid file, with a note.
@Suite struct RecorderOddHeadTests {
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nVary: a\r\nVary: b\r\nvary: c\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Type:text/plain\r\n\r\n",
        "HTTP/1.1 200 \r\nX: y\r\n\r\n",
    ])
    func oddHeadsAreNormalizedWithANote(head: String) throws {
        let exchange = RecordedExchange(
            request: RecordedRequest(method: "GET", uri: "/x"),
            reads: [RecordedRead(offset: .milliseconds(1), bytes: Array(head.utf8))], ending: .close,
            upstream: "http://127.0.0.1:1", date: Date(timeIntervalSince1970: 0))
        let yaml = RecordingWriter.yaml(for: exchange)
        #expect(yaml.contains("# Note: a status step cannot say this head exactly"))
        let scenario = try ScenarioParser.parse(yaml: yaml, file: "odd.yaml")
        #expect(scenario.rules.count == 1)
    }
}
