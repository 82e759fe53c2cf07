import NIOCore
import NIOHTTP1
import RawHTTP
import SeededRandom
import Testing

/// The one response decoder: NIO's `HTTPResponseDecoder` behind the byte tap, fed whole, split anywhere, and cut.
@Suite struct ResponseDecoderTests {
    /// What a decode concluded, for comparing decodes of the same bytes split differently.
    struct Outcome: Equatable, CustomStringConvertible {
        var headRaw: [UInt8]?
        var status: Int?
        var headBytesAt: Int?
        var body: [UInt8]
        var end: ResponseEnd?
        var framing: BodyFraming?

        var description: String {
            "status \(status.map(String.init) ?? "-") head \(headRaw?.count ?? -1)@\(headBytesAt ?? -1) "
                + "body \(String(decoding: body, as: UTF8.self).debugDescription) end \(String(describing: end))"
        }
    }

    /// Decodes `bytes` fed in `pieces` (lengths; the rest in one last piece), then closes when `close`.
    static func decode(_ bytes: [UInt8], pieces: [Int] = [], method: String = "POST", close: Bool = false) -> Outcome {
        let decoder = ResponseDecoder(requestMethod: method)
        var offset = 0
        var headBytesAt: Int?
        var body: [UInt8] = []
        for length in pieces + [bytes.count] {
            let end = min(bytes.count, offset + length)
            let step = decoder.feed(bytes[offset..<end])
            if step.completedHead { headBytesAt = offset + step.headBytes }
            body += step.body
            offset = end
        }
        if close { body += decoder.connectionClosed().body }
        #expect(body == decoder.body, "the steps' body adds up to the decoder's")
        return Outcome(
            headRaw: decoder.head?.raw, status: decoder.head?.status, headBytesAt: headBytesAt, body: body,
            end: decoder.end, framing: decoder.framing)
    }

    static let chunked = Array(
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "9\r\ndata: a\n\n\r\n" + "d;ext=1\r\n: keepalive\n\n\r\n" + "9\r\ndata: b\n\n\r\n" + "0\r\nX-T: 1\r\n\r\n")
            .utf8)
    static let chunkedHeadLength = 80

    @Test func chunkedWholeDecodesHeadBodyAndEnd() {
        let outcome = Self.decode(Self.chunked)
        #expect(outcome.status == 200)
        #expect(outcome.headBytesAt == Self.chunkedHeadLength)
        #expect(outcome.headRaw == Array(Self.chunked.prefix(Self.chunkedHeadLength)))
        #expect(String(decoding: outcome.body, as: UTF8.self) == "data: a\n\n: keepalive\n\ndata: b\n\n")
        #expect(outcome.end == .complete)
        #expect(outcome.framing == .chunked)
    }

    @Test(arguments: Array(0...chunked.count))
    func everyTwoWaySplitDecodesTheSame(cut: Int) {
        #expect(Self.decode(Self.chunked, pieces: [cut]) == Self.decode(Self.chunked))
    }

    /// Responses of every framing, split into random pieces (seeded, so a failure names its seed and repeats).
    static let responses: [(String, [UInt8])] = [
        ("chunked", chunked),
        ("content-length", Array("HTTP/1.1 201 Created\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world".utf8)),
        ("until close", Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".utf8)),
        ("interim head", Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 2\r\n\r\nno".utf8)),
        ("no body", Array("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n".utf8)),
    ]

    @Test(arguments: 0..<responses.count, 1...40)
    func randomSplitsDecodeTheSameAsOneRead(response: Int, seed: UInt64) {
        let (name, bytes) = Self.responses[response]
        var random = SplitMix64(seed: seed)
        var pieces: [Int] = []
        var total = 0
        while total < bytes.count {
            let length = 1 + Int(random.next() % 7)
            pieces.append(length)
            total += length
        }
        let whole = Self.decode(bytes, close: true)
        #expect(Self.decode(bytes, pieces: pieces, close: true) == whole, "\(name), seed \(seed), pieces \(pieces)")
        #expect(whole.end == .complete, "\(name)")
    }

    @Test func contentLengthCompletesAtItsLastByte() {
        let decoder = ResponseDecoder(requestMethod: "GET")
        decoder.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab".utf8))
        #expect(decoder.end == nil)
        #expect(decoder.framing == .contentLength(3))
        #expect(decoder.feed([0x63]).ended)
        #expect(decoder.isComplete)
        #expect(decoder.body == Array("abc".utf8))
    }

    @Test func bytesAfterTheEndAreNotDecoded() {
        let decoder = ResponseDecoder()
        decoder.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxgarbage".utf8))
        #expect(decoder.isComplete)
        #expect(decoder.body == [UInt8(ascii: "x")])
        #expect(decoder.feed(Array("more".utf8)) == ResponseDecoder.Step())
    }

    @Test(arguments: [
        ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
        ("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ])
    func responsesWithoutABodyEndWithTheirHead(method: String, text: String) {
        let outcome = Self.decode(Array(text.utf8), method: method)
        #expect(outcome.end == .complete)
        #expect(outcome.framing == BodyFraming.none)
        #expect(outcome.body.isEmpty)
    }

    @Test func aCloseDelimitedBodyCompletesOnlyOnClose() {
        let text = Array("HTTP/1.1 200 OK\r\n\r\nhello".utf8)
        #expect(Self.decode(text).end == nil)
        let closed = Self.decode(text, close: true)
        #expect(closed.end == .complete)
        #expect(closed.framing == .untilClose)
        #expect(closed.body == Array("hello".utf8))
    }

    /// The harness's verdicts tell a stream cut inside its chunked body from one that ended: a close is never a
    /// clean end of a chunked or length-delimited body, wherever it falls.
    @Test(arguments: Array(0..<chunked.count))
    func aCloseBeforeTheLastChunkIsAnEarlyClose(cut: Int) {
        let outcome = Self.decode(Array(Self.chunked.prefix(cut)), close: true)
        #expect(outcome.end == .closedEarly)
    }

    @Test func aShortContentLengthBodyIsAnEarlyClose() {
        let outcome = Self.decode(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc".utf8), close: true)
        #expect(outcome.end == .closedEarly)
        #expect(outcome.body == Array("abc".utf8))
    }

    @Test(arguments: [
        "HTTP/1.1 abc\r\n\r\n", "garbage\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
    ])
    func malformedBytesEndTheResponseWithAReason(text: String) {
        let decoder = ResponseDecoder()
        decoder.feed(Array(text.utf8))
        #expect(decoder.problem != nil)
        #expect(!decoder.isComplete)
        decoder.connectionClosed()
        #expect(decoder.problem != nil, "a close after bad bytes does not hide them")
    }

    @Test func theHeadKeepsReasonNamesOrderAndEmptyValues() throws {
        let decoder = ResponseDecoder()
        decoder.feed(
            Array(
                "HTTP/1.1 299 Quite Fine\r\nServer: llama.cpp\r\nAccess-Control-Allow-Origin: \r\nx-lower: a, b\r\n\r\n"
                    .utf8))
        let head = try #require(decoder.head)
        #expect(head.status == 299)
        #expect(head.reason == "Quite Fine")
        #expect(head.headers.map(\.name) == ["Server", "Access-Control-Allow-Origin", "x-lower"])
        #expect(head.headers.map(\.value) == ["llama.cpp", "", "a, b"])
        #expect(head.value("X-LOWER") == "a, b")
    }
}
