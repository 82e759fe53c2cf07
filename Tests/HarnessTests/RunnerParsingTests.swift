import FakeUpstream
import Testing
import Wire

@testable import Harness

/// The client's incremental response parser and heartbeat scanner, fed whole and byte by byte.
@Suite struct RunnerParsingTests {
    static let chunked = Array(
        ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "9\r\ndata: a\n\n\r\n" + "d\r\n: keepalive\n\n\r\n" + "9\r\ndata: b\n\n\r\n" + "0\r\n\r\n").utf8)

    @Test(arguments: [1, 3, 7, 1000])
    func chunkedInAnyPieces(pieceSize: Int) {
        var parser = HTTPResponseParser()
        var headCompletions = 0
        var body: [UInt8] = []
        var index = 0
        while index < Self.chunked.count {
            let end = min(index + pieceSize, Self.chunked.count)
            let progress = parser.consume(Array(Self.chunked[index..<end]))
            if progress.completedHead { headCompletions += 1 }
            body += progress.body
            index = end
        }
        #expect(headCompletions == 1)
        #expect(parser.head?.status == 200)
        #expect(parser.head?.value("content-type") == "text/event-stream")
        #expect(parser.isComplete)
        #expect(String(decoding: body, as: UTF8.self) == "data: a\n\n: keepalive\n\ndata: b\n\n")
        #expect(parser.body == body)
    }

    @Test func contentLengthAndInterimHeads() {
        var parser = HTTPResponseParser()
        parser.consume(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 5\r\n\r\nabc".utf8))
        #expect(parser.head?.status == 429)
        #expect(!parser.isComplete)
        parser.consume(Array("de".utf8))
        #expect(parser.isComplete)
        #expect(parser.body == Array("abcde".utf8))
    }

    @Test func closeDelimitedCompletesOnClose() {
        var parser = HTTPResponseParser()
        parser.consume(Array("HTTP/1.1 200 OK\r\n\r\nhello".utf8))
        #expect(!parser.isComplete)
        parser.connectionClosed()
        #expect(parser.isComplete)
        #expect(parser.body == Array("hello".utf8))
    }

    @Test func aTruncatedChunkedBodyIsNotComplete() {
        var parser = HTTPResponseParser()
        parser.consume(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata:".utf8))
        parser.connectionClosed()
        #expect(!parser.isComplete)
        #expect(parser.body == Array("data:".utf8))
    }

    @Test(arguments: ["HTTP/1.1 abc\r\n\r\n", "garbage\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
    func malformedInputSetsAProblem(text: String) {
        var parser = HTTPResponseParser()
        parser.consume(Array(text.utf8))
        #expect(parser.problem != nil)
        #expect(!parser.isComplete)
    }

    @Test(arguments: [1, 2, 5, 100])
    func heartbeatsAreCountedAndRemovedAtBoundariesOnly(pieceSize: Int) throws {
        let body = Array(
            (": keepalive\n\ndata: a\n\n: keepalive\n\n: keepalive\r\rdata: : keepalive\n\n: other\n\n: keepalive\n\n").utf8)
        var scanner = HeartbeatScanner(heartbeat: try SSEHeartbeat(comment: "keepalive"))
        var index = 0
        var found = 0
        while index < body.count {
            let end = min(index + pieceSize, body.count)
            found += scanner.consume(body[index..<end])
            index = end
        }
        scanner.finish()
        #expect(found == 4)
        #expect(scanner.count == 4)
        #expect(String(decoding: scanner.withoutHeartbeats, as: UTF8.self) == "data: a\n\ndata: : keepalive\n\n: other\n\n")
    }

    @Test func aHeartbeatPrefixAtTheEndIsBody() throws {
        var scanner = HeartbeatScanner(heartbeat: .keepalive)
        scanner.consume(Array(": keep".utf8))
        #expect(scanner.withoutHeartbeats.isEmpty)
        scanner.finish()
        #expect(scanner.withoutHeartbeats == Array(": keep".utf8))
        #expect(scanner.count == 0)
    }

    @Test func inBandErrorsAreFoundOnDataLines() {
        #expect(ReplayRunner.hasInBandError(Array("data: a\n\ndata: {\"error\":{\"message\":\"x\"}}\n\n".utf8)))
        #expect(ReplayRunner.hasInBandError(Array("data:{\"error\":1}\r\n\r\n".utf8)))
        #expect(!ReplayRunner.hasInBandError(Array("data: {\"content\":\"{\\\"error\\\"\"}\n\n".utf8)))
        #expect(!ReplayRunner.hasInBandError([]))
    }

    @Test func requestBytesCarryHostLengthAndType() {
        let request = ClientRequestSpec(headers: [HeaderField("X-A", "1")], body: Array("{}".utf8))
        let text = String(decoding: ReplayRunner.requestBytes(request, host: "h:1", model: "m"), as: UTF8.self)
        #expect(text == "POST /v1/chat/completions HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let fallback = String(decoding: ReplayRunner.requestBytes(ClientRequestSpec(), host: "h", model: "tiny"), as: UTF8.self)
        #expect(fallback.hasSuffix(#"{"model":"tiny","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#))
    }
}
