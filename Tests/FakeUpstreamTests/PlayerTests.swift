import DurationMath
import SeededRandom
import Testing

@testable import FakeUpstream

private let chat = RequestContext(method: "POST", path: "/v1/chat/completions", stream: true)
private let textHead = ResponseHead(status: 200, headers: [HeaderField("Content-Type", "text/plain")])

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func plan(_ steps: [Step], scale: Double = 1, request: RequestContext = chat) -> ResponsePlan {
    ResponsePlanner(timeScale: scale).plan(ResponseScript(steps: steps), for: request)
}

@Suite struct PlayerTimingTests {
    @Test func waitsAddUpIntoAbsoluteOffsets() {
        let result = plan([
            .wait(.seconds(1)), .head(textHead), .write(bytes("a")), .wait(.milliseconds(500)), .write(bytes("b")),
            .wait(.milliseconds(250)), .end(.clean),
        ])
        #expect(result.actions.map(\.at) == [
            .seconds(1), .seconds(1), .milliseconds(1500), .milliseconds(1750), .milliseconds(1750),
        ])
        #expect(result.writeTexts.dropFirst() == ["1\r\na\r\n", "1\r\nb\r\n", "0\r\n\r\n"])
        #expect(result.ending == .clean)
    }

    @Test(arguments: [0.01, 0.5, 2.0])
    func timeScaleMultipliesEveryOffset(scale: Double) {
        let steps: [Step] = [
            .head(textHead), .wait(.seconds(95)), .write(bytes("x")), .wait(.milliseconds(300)), .end(.fin),
        ]
        let unscaled = plan(steps).actions.map(\.at)
        let scaled = plan(steps, scale: scale).actions.map(\.at)
        #expect(scaled == unscaled.map { $0.scaled(by: scale) })
        #expect(scaled[1] == .nanoseconds(Int64((95e9 * scale).rounded())))
    }

    @Test func gateStartsANewEpoch() {
        let result = plan([
            .head(textHead), .wait(.seconds(2)), .gate("release"), .wait(.seconds(1)), .write(bytes("after")),
        ])
        #expect(result.actions.map(\.at) == [.zero, .seconds(2), .seconds(1), .seconds(1), .seconds(1)])
        #expect(result.actions[1].action == .gate("release"))
        #expect(result.ending == .clean)
    }

    @Test func splitWritesOnePiecePerGap() {
        let split = SplitWrite(bytes: bytes("hello world"), offsets: [2, 5], gaps: [.seconds(1), .seconds(3)])
        let result = plan([.head(textHead), .wait(.seconds(10)), .split(split), .end(.hang)])
        #expect(result.writeTexts.dropFirst() == ["2\r\nhe\r\n", "3\r\nllo\r\n", "6\r\n world\r\n"])
        #expect(result.actions.map(\.at) == [.zero, .seconds(10), .seconds(11), .seconds(14), .seconds(14)])
        #expect(result.ending == .hang)
    }

    @Test func splitWithOneGapUsesItBetweenEveryPiece() {
        let split = SplitWrite(bytes: bytes("abcdef"), offsets: [1, 2, 3], gaps: [.milliseconds(100)])
        let result = plan([.head(textHead), .split(split)], scale: 0.5)
        let writeTimes = result.actions.dropFirst().dropLast(2).map(\.at)
        #expect(writeTimes == [.zero, .milliseconds(50), .milliseconds(100), .milliseconds(150)])
    }
}

@Suite struct PlayerFramingTests {
    @Test func chunkedWrapsEachWriteInOneChunkWithLowercaseHex() {
        let payload = [UInt8](repeating: UInt8(ascii: "z"), count: 300)
        let result = plan([.head(textHead), .write(payload), .end(.close)])
        #expect(result.writes[1] == bytes("12c\r\n") + payload + bytes("\r\n"))
        #expect(result.writes[2] == bytes("0\r\n\r\n"))
        #expect(result.ending == .close)
    }

    @Test func emptyBytesAreNeverAChunk() {
        #expect(HTTPWire.chunk([]).isEmpty)
        #expect(HTTPWire.chunk([0x41]) == bytes("1\r\nA\r\n"))
    }

    /// The responses the fake and the harness answer themselves go through `headBytes` too.
    @Test func ownResponsesAreWholeAndFramed() {
        #expect(
            HTTPWire.response(status: 502, contentType: "application/json", body: bytes("{}"), close: true)
                == bytes("HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                    + "Connection: close\r\n\r\n{}"))
        #expect(
            HTTPWire.response(status: 200, contentType: "text/plain", body: [])
                == bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"))
        #expect(HTTPWire.continueResponse == bytes("HTTP/1.1 100 Continue\r\n\r\n"))
    }

    @Test func emptyWritesProduceNoChunk() {
        let result = plan([.head(textHead), .write([]), .write(bytes("a")), .write([])])
        #expect(result.writeTexts.dropFirst() == ["1\r\na\r\n", "0\r\n\r\n"])
    }

    @Test(arguments: [Ending.fin, .rst, .halfClose, .hang])
    func abruptEndingsLeaveTheBodyUnterminated(ending: Ending) {
        let result = plan([.head(textHead), .write(bytes("partial")), .end(ending)])
        #expect(result.writes.count == 2)
        #expect(result.ending == ending)
    }

    @Test func headHasLlamaServerAutomaticHeadersInOrder() throws {
        let result = plan([.head(textHead), .end(.clean)])
        let response = try RawResponse(result.allBytes)
        #expect(response.statusLine == "HTTP/1.1 200 OK")
        #expect(response.headerLines == [
            "Server: llama.cpp", "Access-Control-Allow-Origin: ", "Content-Type: text/plain",
            "Transfer-Encoding: chunked", "Keep-Alive: timeout=5, max=100",
        ])
        #expect(result.writes[0].suffix(4) == bytes("\r\n\r\n"))
    }

    @Test func contentLengthIsTheSumOfBodyBytes() throws {
        let head = ResponseHead(status: 200, framing: .contentLength(declared: nil))
        let result = plan([.head(head), .write(bytes("abc")), .wait(.seconds(1)), .write(bytes("defg"))])
        let response = try RawResponse(result.allBytes)
        #expect(response.headerLines.contains("Content-Length: 7"))
        #expect(response.body == bytes("abcdefg"))
        #expect(result.writeTexts.dropFirst() == ["abc", "defg"])
        #expect(result.ending == .clean)
    }

    @Test(arguments: [2, 50])
    func declaredWrongContentLengthStillSendsTheScriptedBytes(declared: Int) throws {
        let head = ResponseHead(status: 200, framing: .contentLength(declared: declared))
        let result = plan([.head(head), .write(bytes("0123456789"))])
        let response = try RawResponse(result.allBytes)
        #expect(response.headerLines.contains("Content-Length: \(declared)"))
        #expect(response.body == bytes("0123456789"))
    }

    @Test func closeDelimitedHasNoLengthAndEndsByClosing() throws {
        let head = ResponseHead(status: 200, framing: .closeDelimited)
        let result = plan([.head(head), .write(bytes("body")), .end(.clean)])
        let response = try RawResponse(result.allBytes)
        #expect(!response.headerNames.contains("Content-Length"))
        #expect(!response.headerNames.contains("Transfer-Encoding"))
        #expect(response.body == bytes("body"))
        #expect(result.ending == .close)
    }

    @Test func userFramingAndConnectionHeadersReplaceTheAutomaticOnes() throws {
        let head = ResponseHead(
            status: 503, headers: [HeaderField("transfer-encoding", "chunked"), HeaderField("Connection", "close")]
        )
        let response = try RawResponse(plan([.head(head)]).allBytes)
        #expect(response.statusLine == "HTTP/1.1 503 Service Unavailable")
        #expect(response.headerLines == [
            "Server: llama.cpp", "Access-Control-Allow-Origin: ", "transfer-encoding: chunked", "Connection: close",
        ])
    }

    @Test func withoutAutomaticHeadersOnlyTheScriptedOnesAreSent() {
        let head = ResponseHead(
            status: 299, reason: "Odd", headers: [HeaderField("X-A", "1")], automaticHeaders: false
        )
        let result = plan([.head(head), .end(.fin)])
        #expect(result.writeTexts == ["HTTP/1.1 299 Odd\r\nX-A: 1\r\n\r\n"])
    }

    @Test func writeBeforeAnyHeadGetsLlamaServersSSEHead() throws {
        let result = plan([.wait(.seconds(3)), .write(bytes("data: x\n\n"))])
        let reference = try RawResponse(try fixture("chat_stream.raw"))
        let response = try RawResponse(result.allBytes)
        #expect(response.statusLine == reference.statusLine)
        #expect(response.headerLines == reference.headerLines)
        #expect(result.actions[0].at == .seconds(3))
        #expect(response.chunks == [bytes("data: x\n\n")])
        #expect(response.terminated)
    }

    @Test func endIsAlwaysLastAndStepsAfterItAreIgnored() {
        let result = plan([.head(textHead), .end(.rst), .write(bytes("never"))])
        #expect(result.writes.count == 1)
        #expect(result.ending == .rst)
        #expect(plan([]).ending == .clean)
    }
}

@Suite struct PlayerSSEEncodingTests {
    @Test func fieldsComeInOrderThenTheBlankLine() {
        let event = SSEEvent(comment: "hi", event: "message", id: "7", retry: 1000, data: bytes("{}"))
        #expect(String(decoding: event.wireBytes, as: UTF8.self)
            == ": hi\nevent: message\nid: 7\nretry: 1000\ndata: {}\n\n")
    }

    @Test func multiLineDataBecomesSeveralDataLines() {
        let event = SSEEvent(data: bytes("a\nb\r\nc"))
        #expect(String(decoding: event.wireBytes, as: UTF8.self) == "data: a\ndata: b\ndata: c\n\n")
    }

    @Test(arguments: [LineEnding.lf, .crlf, .cr])
    func lineEndingIsUsedForEveryLine(ending: LineEnding) {
        let event = SSEEvent(comment: "k", data: bytes("x\ny"), lineEnding: ending)
        let e = ending.rawValue
        #expect(String(decoding: event.wireBytes, as: UTF8.self) == ": k\(e)data: x\(e)data: y\(e)\(e)")
    }

    @Test func eventStepIsOneChunkedWrite() {
        let result = plan([.event(SSEEvent(data: bytes("[DONE]"), lineEnding: .crlf))])
        #expect(result.writeTexts[1] == "10\r\ndata: [DONE]\r\n\r\n\r\n")
    }
}

@Suite struct PlayerPropertyTests {
    /// A random script of waits, writes, events, splits and gates (no head: the SSE head is inserted), and the body
    /// bytes it scripts.
    private func randomScript(_ random: inout SplitMix64) -> (steps: [Step], body: [UInt8]) {
        var steps: [Step] = []
        var body: [UInt8] = []
        for _ in 0..<random.nextIndex(below: 12) {
            let text = Array(String(repeating: "x", count: random.nextIndex(below: 40)).utf8)
            switch random.nextIndex(below: 5) {
            case 0: steps.append(.wait(.milliseconds(random.nextIndex(below: 1000))))
            case 1:
                steps.append(.write(text))
                body += text
            case 2:
                let event = SSEEvent(data: text)
                steps.append(.event(event))
                body += event.wireBytes
            case 3:
                let cuts = (0..<random.nextIndex(below: 4)).map { _ in random.nextIndex(below: 50) }.sorted()
                steps.append(.split(SplitWrite(bytes: text, offsets: cuts, gaps: [.milliseconds(10)])))
                body += text
            default: steps.append(.gate("g\(random.nextIndex(below: 3))"))
            }
        }
        return (steps, body)
    }

    @Test func anyScriptGivesAWellFramedTimelyPlan() throws {
        var random = SplitMix64(seed: 2024)
        for _ in 0..<300 {
            let (steps, body) = randomScript(&random)
            let result = plan(steps, scale: 0.37)
            #expect(result.actions.filter { if case .end = $0.action { true } else { false } }.count == 1)
            #expect(result.ending == .clean)
            var last = Duration.zero
            for action in result.actions {
                if case .gate = action.action { last = .zero; continue }
                #expect(action.at >= last)
                last = action.at
            }
            let response = try RawResponse(result.allBytes)
            #expect(try #require(response.chunks).flatMap { $0 } == body)
            #expect(response.terminated)
        }
    }
}

/// `framing: raw`: what a recording needs to replay byte for byte.
@Suite struct PlayerRawFramingTests {
    static let rawHead = ResponseHead(
        status: 200, headers: [HeaderField("Transfer-Encoding", "chunked"), HeaderField("X-Order", "kept")],
        framing: .raw, automaticHeaders: false)

    @Test func headAndWritesGoOutExactlyAsGiven() {
        let result = plan([
            .head(Self.rawHead), .write(bytes("5\r\nhello\r\n")), .wait(.milliseconds(10)), .write(bytes("0\r\n\r\n")),
            .end(.close),
        ])
        #expect(result.writeTexts == [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Order: kept\r\n\r\n", "5\r\nhello\r\n", "0\r\n\r\n",
        ])
        #expect(result.ending == .close)
    }

    @Test func automaticHeadersNeverApplyToARawHead() {
        var head = Self.rawHead
        head.automaticHeaders = true
        #expect(HTTPWire.headerFields(head, bodyLength: 5) == Self.rawHead.headers)
    }

    @Test(arguments: [Ending.clean, .close, .fin, .rst])
    func nothingIsAddedAtTheEnd(ending: Ending) {
        let result = plan([.head(Self.rawHead), .write(bytes("partial")), .end(ending)])
        #expect(result.writeTexts.dropFirst() == ["partial"])
        #expect(result.ending == ending)
    }
}
