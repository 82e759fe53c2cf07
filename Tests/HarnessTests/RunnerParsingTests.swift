import FakeUpstream
import Testing
import Wire

@testable import Harness

/// The heartbeat scanner, fed whole and in pieces (the response decoder itself: RawHTTPTests).
@Suite struct RunnerParsingTests {
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
