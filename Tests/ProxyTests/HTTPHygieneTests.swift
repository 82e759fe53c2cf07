import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// HTTP hygiene through the real connection pipeline (``ProxyServer/addHTTPCodec(to:limits:logger:)`` and
/// ``ProxyConnectionHandler``) on an `EmbeddedChannel` with driven time: `Connection: close`, HTTP/1.0, methods the
/// proxy does not serve, head and body limits, and the client timeouts at exactly their limits.
@Suite struct HTTPHygieneTests {
    static let ns = Duration.nanoseconds(1)
    static let health = "GET /health HTTP/1.1\r\nHost: p\r\n\r\n"

    static func rig(_ limits: ClientLimits = ClientLimits(), heartbeat: Duration? = nil) throws -> DrivenRelayRig {
        try DrivenRelayRig(heartbeat: heartbeat, clientLimits: limits)
    }

    static func send(_ rig: DrivenRelayRig, _ text: String) throws {
        try rig.client.writeInbound(ByteBuffer(string: text))
    }

    /// The status codes of every response in `text`, in order.
    static func statuses(_ text: String) -> [Int] {
        text.components(separatedBy: "HTTP/1.").dropFirst().compactMap { Int($0.dropFirst(2).prefix(3)) }
    }

    // MARK: Connection: close, keep-alive, HTTP/1.0

    @Test func keepAliveServesRequestAfterRequest() throws {
        let rig = try Self.rig()
        try Self.send(rig, Self.health + Self.health)
        try Self.send(rig, Self.health)
        let text = try rig.takeText()
        #expect(Self.statuses(text) == [200, 200, 200], "\(text)")
        #expect(!text.lowercased().contains("connection: close"))
        #expect(rig.client.isActive)
    }

    /// Requests pipelined behind a relayed one wait, in order, until its answer has ended — and the connection reads
    /// nothing more meanwhile (a pipelining client buffers at most one read in the proxy) — then are answered on the
    /// same connection, and reading resumes.
    @Test func pipelinedRequestAfterARelayedAnswerIsServed() throws {
        let rig = try Self.rig()
        let body = "{\"model\":\"m\",\"messages\":[]}"
        // The embedded channel neither reads by itself nor reports `autoRead`: its `read()` calls are counted.
        let reads = ReadCounter()
        try rig.client.pipeline.syncOperations.addHandler(reads, position: .first)
        try Self.send(
            rig,
            "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" + Self.health
                + "GET /nope HTTP/1.1\r\n\r\n")
        #expect(try rig.takeText().isEmpty, "nothing is answered before the relayed request's answer")
        rig.client.read()
        #expect(reads.count == 0, "no reading while requests wait")
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        let text = try rig.takeText()
        #expect(Self.statuses(text) == [200, 200, 404], "\(text)")
        #expect(rig.client.isActive)
        #expect(reads.count == 1, "the read held back goes on once nothing waits")
        rig.client.read()
        #expect(reads.count == 2)
        try Self.send(rig, Self.health)
        #expect(Self.statuses(try rig.takeText()) == [200])
    }

    /// A stream the proxy committed itself (the first heartbeat) carries `Connection: close` in its own head.
    @Test func connectionCloseOnAStreamCommittedByAHeartbeat() throws {
        let rig = try Self.rig(heartbeat: .seconds(15))
        let body = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}"
        try Self.send(
            rig,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: p\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                + body)
        rig.advance(to: .seconds(15))
        #expect(try rig.takeText().lowercased().contains("connection: close\r\n"))
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: [DONE]\n\n")
        #expect(rig.client.isActive)
        try rig.upstreamEnds()
        #expect(try rig.response().ended)
        #expect(!rig.client.isActive)
    }

    @Test func http10GetsAnHTTP10AnswerAndTheClose() throws {
        let rig = try Self.rig()
        try Self.send(rig, "GET /health HTTP/1.0\r\n\r\n")
        let text = try rig.takeText()
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(text)")
        #expect(text.lowercased().contains("connection: close\r\n"))
        #expect(text.lowercased().contains("content-length: 2\r\n"))
        #expect(!rig.client.isActive)
    }

    /// An HTTP/1.0 client cannot read chunks: a streamed body goes unchunked, delimited by the close.
    @Test func http10StreamIsCloseDelimited() throws {
        let rig = try Self.rig()
        let body = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}"
        try Self.send(rig, "POST /v1/chat/completions HTTP/1.0\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: [DONE]\n\n")
        try rig.upstreamEnds()
        let text = try rig.takeText()
        #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(text)")
        #expect(!text.lowercased().contains("transfer-encoding"), "\(text)")
        #expect(text.hasSuffix("\r\n\r\ndata: [DONE]\n\n"), "\(text)")
        #expect(!rig.client.isActive)
    }

    /// HTTP/1.0 with keep-alive asked for still closes: the proxy's bodies have no length to keep it alive by.
    @Test func http10KeepAliveStillCloses() throws {
        let rig = try Self.rig()
        try Self.send(rig, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try rig.takeText().lowercased().contains("connection: close\r\n"))
        #expect(!rig.client.isActive)
    }

    // MARK: Methods the proxy does not serve, upgrades

    @Test func traceIsAFramed501AndTheConnectionStaysUsable() throws {
        let rig = try Self.rig()
        try Self.send(rig, "TRACE /upstream/m/health HTTP/1.1\r\nHost: p\r\n\r\n" + Self.health)
        let text = try rig.takeText()
        let first = WireResponse(Array(text.utf8))
        #expect(first.status == 501)
        #expect(first.ended, "framed by Content-Length")
        #expect(first.text.contains("\"code\":501") && first.text.contains("TRACE"), "\(first.text)")
        #expect(Self.statuses(text) == [501, 200], "\(text)")
        #expect(rig.connector.channels.isEmpty, "never forwarded upstream")
        #expect(rig.client.isActive)
    }

    /// NIO's encoder sends no body with any answer to CONNECT (and strips its framing headers), and its decoder
    /// reads nothing after a CONNECT: `501`, `Connection: close`, and the close that delimits it.
    @Test func connectIs501ThenTheClose() throws {
        let rig = try Self.rig()
        try Self.send(rig, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + Self.health)
        let text = try rig.takeText()
        #expect(text.hasPrefix("HTTP/1.1 501 Not Implemented\r\n"), "\(text)")
        #expect(text.lowercased().contains("connection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"), "no body: \(text)")
        #expect(Self.statuses(text) == [501])
        #expect(!rig.client.isActive)
    }

    /// An `Upgrade` request ends HTTP in NIO's decoder: answered, then closed (the pipelined request is not read).
    @Test func upgradeRequestIsAnsweredThenClosed() throws {
        let rig = try Self.rig()
        try Self.send(
            rig, "GET /health HTTP/1.1\r\nHost: p\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + Self.health)
        let text = try rig.takeText()
        #expect(Self.statuses(text) == [200], "\(text)")
        #expect(text.lowercased().contains("connection: close\r\n"))
        #expect(!rig.client.isActive)
    }

    // MARK: Limits

    static let small = ClientLimits(maxRequestBodySize: 100, maxHeaderCount: 5, maxHeaderBytes: 400, maxHeaderLineBytes: 120)

    @Test func headerCountAtTheLimitPassesOneMoreIs431() throws {
        let fits = try Self.rig(Self.small)
        try Self.send(fits, "GET /health HTTP/1.1\r\nHost: p\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n")
        #expect(Self.statuses(try fits.takeText()) == [200])
        #expect(fits.client.isActive)

        let over = try Self.rig(Self.small)
        try? Self.send(over, "GET /health HTTP/1.1\r\nHost: p\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n")
        let response = try over.response()
        #expect(response.status == 431, "\(response)")
        #expect(response.header("connection") == "close")
        #expect(try OpenAIErrorShape(response.text).code == 431)
        #expect(!over.client.isActive)
    }

    /// Malformed bytes after an answered request, sent apart or pipelined behind it: the answer stands, then `400`
    /// in the envelope, then the close (the decoder reads nothing after an error).
    @Test(arguments: [false, true])
    func malformedRequestAfterAnAnswerIs400(pipelined: Bool) throws {
        let rig = try Self.rig()
        let garbage = "GET /health HTTP/1.1\r\nHost: p\r\nBad Header\r\n\r\n"
        if pipelined {
            try? Self.send(rig, Self.health + garbage)
        } else {
            try Self.send(rig, Self.health)
            #expect(Self.statuses(try rig.takeText()) == [200])
            try? Self.send(rig, garbage)
        }
        let text = try rig.takeText()
        #expect(Self.statuses(text) == (pipelined ? [200, 400] : [400]), "\(text)")
        #expect(text.contains("malformed HTTP request"), "\(text)")
        #expect(!rig.client.isActive)
    }

    @Test func headBytesAndLineLengthAre431() throws {
        let tooManyBytes = try Self.rig(Self.small)
        let fields = (0..<4).map { "X\($0): \(String(repeating: "v", count: 100))\r\n" }.joined()
        try? Self.send(tooManyBytes, "GET /health HTTP/1.1\r\n\(fields)\r\n")
        #expect(try tooManyBytes.response().status == 431)
        #expect(!tooManyBytes.client.isActive)

        let longTarget = try Self.rig(Self.small)
        try? Self.send(longTarget, "GET /health?\(String(repeating: "q", count: 200)) HTTP/1.1\r\nHost: p\r\n\r\n")
        #expect(try longTarget.response().status == 431)
        #expect(!longTarget.client.isActive)
    }

    @Test func malformedRequestIsA400Envelope() throws {
        let rig = try Self.rig()
        try? Self.send(rig, "GET /health HTTP/1.1\r\nBad Header\r\n\r\n")
        let response = try rig.response()
        #expect(response.status == 400)
        #expect(try OpenAIErrorShape(response.text).code == 400)
        #expect(response.header("connection") == "close")
        #expect(!rig.client.isActive)
    }

    @Test func declaredBodyAtTheLimitIsReadOneMoreByteIs413AtTheHead() throws {
        let fits = try Self.rig(Self.small)
        let body = "{\"model\":\"m\",\"messages\":[\"\(String(repeating: "a", count: 100 - 29))\"]}"
        #expect(body.utf8.count == 100)
        try Self.send(fits, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 100\r\n\r\n\(body)")
        #expect(fits.connector.channels.count == 1, "relayed")

        let over = try Self.rig(Self.small)
        try Self.send(over, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 101\r\n\r\n")
        let response = try over.response()
        #expect(response.status == 413)
        #expect(response.text.contains("maxRequestBodySize"), "\(response.text)")
        #expect(response.header("connection") == "close")
        #expect(!over.client.isActive)
        #expect(over.connector.channels.isEmpty)
    }

    @Test func chunkedBodyIs413WhenItCrossesTheLimit() throws {
        let rig = try Self.rig(Self.small)
        try Self.send(rig, "POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        try Self.send(rig, "3c\r\n\(String(repeating: "a", count: 60))\r\n")
        #expect(try rig.take().isEmpty, "60 of 100 bytes: still reading")
        try Self.send(rig, "28\r\n\(String(repeating: "a", count: 40))\r\n")
        #expect(try rig.take().isEmpty, "exactly 100 bytes: still reading")
        try Self.send(rig, "1\r\na\r\n")
        let response = try rig.response()
        #expect(response.status == 413)
        #expect(!rig.client.isActive)
        #expect(rig.connector.channels.isEmpty)
    }

    // MARK: Timeouts, exactly

    static let timeouts = ClientLimits(
        idleTimeout: .seconds(20), headerTimeout: .seconds(10), bodyTimeout: .seconds(15))

    @Test func idleTimeoutCountsFromTheEndOfTheLastResponse() throws {
        let rig = try Self.rig(Self.timeouts)
        rig.advance(to: .seconds(19))
        try Self.send(rig, Self.health)
        rig.advance(to: .seconds(39) - Self.ns)
        #expect(rig.client.isActive)
        rig.advance(to: .seconds(39))
        #expect(!rig.client.isActive)
        #expect(Self.statuses(try rig.takeText()) == [200], "closed quietly: no 408 without a request")
    }

    @Test func headerTimeoutFromTheFirstByte() throws {
        let rig = try Self.rig(Self.timeouts)
        rig.advance(to: .seconds(5))
        try Self.send(rig, "GET /hea")
        rig.advance(to: .seconds(14))
        try Self.send(rig, "lth HTTP/1.1\r\nHost:")
        rig.advance(to: .seconds(15) - Self.ns)
        #expect(rig.client.isActive)
        #expect(try rig.take().isEmpty)
        rig.advance(to: .seconds(15))
        let response = try rig.response()
        #expect(response.status == 408)
        #expect(response.header("connection") == "close")
        #expect(response.text.contains("clientHeaderTimeout"), "\(response.text)")
        #expect(try OpenAIErrorShape(response.text).code == 408)
        #expect(!rig.client.isActive)
    }

    @Test func bodyTimeoutIsSilenceInsideTheBody() throws {
        let rig = try Self.rig(Self.timeouts)
        try Self.send(rig, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"model\"")
        rig.advance(to: .seconds(14))
        try Self.send(rig, ":\"m\"")
        rig.advance(to: .seconds(29) - Self.ns)
        #expect(rig.client.isActive)
        rig.advance(to: .seconds(29))
        let response = try rig.response()
        #expect(response.status == 408)
        #expect(response.text.contains("clientBodyTimeout"), "\(response.text)")
        #expect(!rig.client.isActive)
        #expect(rig.connector.channels.isEmpty)
    }

    /// A stream kept alive by heartbeats for three hours, far past every client bound: never cut; the idle bound
    /// starts when it ends.
    @Test func noClientTimeoutCutsALongStream() throws {
        let rig = try Self.rig(Self.timeouts, heartbeat: .seconds(15))
        try rig.sendRequest()
        rig.advance(to: .seconds(3 * 3600))
        #expect(rig.client.isActive)
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: [DONE]\n\n")
        try rig.upstreamEnds()
        let response = try rig.response()
        #expect(response.ended)
        #expect(response.text.components(separatedBy: ": keepalive").count - 1 == 3 * 3600 / 15)
        rig.advance(to: .seconds(3 * 3600 + 20) - Self.ns)
        #expect(rig.client.isActive)
        rig.advance(to: .seconds(3 * 3600 + 20))
        #expect(!rig.client.isActive)
    }

    /// A non-streaming request whose answer takes an hour (no heartbeat): the request waits, no bound applies.
    @Test func noClientTimeoutWhileARequestWaitsForItsAnswer() throws {
        let rig = try Self.rig(Self.timeouts)
        try rig.sendRequest(stream: false)
        rig.advance(to: .seconds(3600))
        #expect(rig.client.isActive)
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try rig.response().status == 200)
        #expect(rig.client.isActive)
    }

    /// Part of the next head pipelined during a long answer: its header bound starts when the answer ends.
    @Test func pipelinedHeadDuringAnAnswerIsTimedFromItsEnd() throws {
        let rig = try Self.rig(Self.timeouts)
        try rig.sendRequest(stream: false)
        try Self.send(rig, "GET /heal")
        rig.advance(to: .seconds(600))
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        rig.advance(to: .seconds(610) - Self.ns)
        #expect(rig.client.isActive)
        rig.advance(to: .seconds(610))
        let text = try rig.takeText()
        #expect(Self.statuses(text) == [200, 408], "\(text)")
        #expect(!rig.client.isActive)
    }
}

/// The OpenAI error envelope, decoded enough to check it is one.
struct OpenAIErrorShape {
    var message: String
    var code: Int

    init(_ json: String) throws {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let error = try #require(object?["error"] as? [String: Any], "not an envelope: \(json)")
        message = try #require(error["message"] as? String)
        _ = try #require(error["type"] as? String)
        code = try #require(error["code"] as? Int)
    }
}
