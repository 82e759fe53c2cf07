import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// Connection reuse through the real connection handler and relay, with driven time (``DrivenRelayRig`` with a
/// pool): which answers leave a connection for the next request, idle expiry at exactly its time, a connection
/// closed while idle, and the one retry (performance issue, item 1).
@Suite struct PoolRelayDrivenTests {
    static let ns = Duration.nanoseconds(1)
    static let json = "{\"ok\":true}"
    static let probation = UpstreamIdleSet<UpstreamPoolKey, ChannelBox>.probation

    static func rig() throws -> DrivenRelayRig {
        try DrivenRelayRig(heartbeat: nil, pools: UpstreamPools())
    }

    /// A complete non-streamed answer, as llama-server sends it (keep-alive advertised).
    static func keepAliveAnswer(keepAlive: String = "timeout=5, max=100", connection: String? = nil) -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nKeep-Alive: \(keepAlive)\r\n"
            + (connection.map { "Connection: \($0)\r\n" } ?? "")
            + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    /// One request/answer; returns the client's text. The loop runs its tasks (the pool's settle hops).
    static func exchange(_ rig: DrivenRelayRig, stream: Bool = false, answer: (DrivenRelayRig) throws -> Void)
        throws -> String
    {
        try rig.sendRequest(stream: stream)
        rig.loop.run()
        _ = try rig.upstreamRequest()
        try answer(rig)
        rig.loop.run()
        let text = try rig.takeText()
        rig.advance(by: probation)  // the upstream shows that it keeps connections
        return text
    }

    @Test func aKeepAliveAnswerLeavesTheConnectionForTheNextRequest() throws {
        let rig = try Self.rig()
        for _ in 0..<3 {
            let text = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.hasSuffix(Self.json))
        }
        #expect(rig.connector.channels.count == 1, "three requests, one connection")
        #expect(try rig.upstream.isActive)
    }

    @Test func anEventStreamIsNeverFollowedByAnotherRequest() throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig, stream: true) {
            try $0.upstreamStreamHead()
            try $0.upstreamChunk("data: {\"n\":1}\n\n")
            try $0.upstreamEnds()
        }
        #expect(!(try rig.upstream.isActive), "closed at the end of the stream")
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        #expect(rig.connector.channels.count == 2)
    }

    @Test func connectionCloseIsHonoured() throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer(connection: "close")) }
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        #expect(rig.connector.channels.count == 2)
        #expect(!rig.connector.channels[0].isActive)
    }

    /// `Keep-Alive: timeout=5`: handed out up to 4 s after the release, closed by the pool's timer at 4 s.
    @Test(arguments: [false, true])
    func idleConnectionsExpireOneSecondBeforeTheUpstreamsTimeout(late: Bool) throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        let released = rig.now - Self.probation
        rig.advance(to: released + .seconds(4) - (late ? .zero : Self.ns))
        #expect(rig.connector.channels[0].isActive == !late, "the pool's timer closes it at exactly 4 s")
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        #expect(rig.connector.channels.count == (late ? 2 : 1))
    }

    @Test func aConnectionClosedWhileIdleIsNotHandedOut() throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        try rig.upstreamCloses()
        let text = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(rig.connector.channels.count == 2)
    }

    @Test func anUnfinishedBodyIsNotReused() throws {
        let rig = try DrivenRelayRig(heartbeat: nil, streamIdleTimeout: .seconds(1), pools: UpstreamPools())
        try rig.sendRequest(stream: false)
        rig.loop.run()
        _ = try rig.upstreamRequest()
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nKeep-Alive: timeout=5\r\n\r\n12345")
        rig.advance(by: .seconds(1))
        #expect(!rig.connector.channels[0].isActive, "closed by streamIdleTimeout with 5 of 10 bytes")
    }

    /// The pooled connection fails the request's write (it was closed under us): the request goes again, once, on
    /// a new connection, and the client sees only the answer.
    @Test func aReusedConnectionThatFailsBeforeTheRequestIsWrittenIsRetriedOnce() throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        try rig.connector.channels[0].pipeline.syncOperations.addHandler(FailingWrites(), position: .first)
        try rig.sendRequest(stream: false)
        rig.loop.run()
        #expect(rig.connector.channels.count == 2, "retried on a fresh connection")
        let request = try rig.upstreamRequest()
        #expect(request.hasPrefix("POST /v1/chat/completions HTTP/1.1"))
        #expect(request.hasSuffix("\"messages\":[]}"), "the whole body again")
        try rig.upstreamWrites(Self.keepAliveAnswer())
        rig.loop.run()
        let text = try rig.takeText()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.hasSuffix(Self.json))
    }

    /// Once the request was written, the upstream may have started work: a close without an answer is the
    /// client's error, never a second request.
    @Test func aWrittenRequestIsNeverSentAgain() throws {
        let rig = try Self.rig()
        _ = try Self.exchange(rig) { try $0.upstreamWrites(Self.keepAliveAnswer()) }
        try rig.sendRequest(stream: false)
        rig.loop.run()
        _ = try rig.upstreamRequest()
        try rig.upstreamCloses()
        rig.loop.run()
        #expect(rig.connector.channels.count == 1, "no second connection")
        let text = try rig.takeText()
        #expect(text.hasPrefix("HTTP/1.1 502"), "\(text)")
    }

    /// A fresh connection that fails is the upstream's answer: never retried.
    @Test func aFreshConnectionIsNeverRetried() throws {
        let rig = try Self.rig()
        try rig.sendRequest(stream: false)
        rig.loop.run()
        try rig.upstreamCloses()
        rig.loop.run()
        #expect(rig.connector.channels.count == 1)
        #expect(try rig.takeText().hasPrefix("HTTP/1.1 502"))
    }
}

/// Fails every write and closes the channel, as a socket the peer already closed does.
final class FailingWrites: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(IOError(errnoCode: 32, reason: "write"))  // EPIPE
        context.close(promise: nil)
    }
}
