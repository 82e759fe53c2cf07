import DurationMath
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

/// A peer request through the real connection handler and ``RequestRelay`` on an `EmbeddedEventLoop`, time driven by
/// the test: what goes upstream (key, body, target, Host), that no supervisor is asked, and that the relay's rules
/// (heartbeats, the peer's 60 s response-head bound, errors before and after the commit) apply to peers unchanged.
final class PeerRelayRig {
    let loop = EmbeddedEventLoop()
    let connector: EmbeddedUpstreamConnector
    let leases: ScriptedLeaseRequester
    let origin: NIODeadline
    private(set) var received: [UInt8] = []

    init(yaml: String) throws {
        let (config, _) = try ConfigLoader.load(yaml: yaml, file: "rig.yaml", environment: [:])
        let local = UpstreamURL(host: "local.test", port: 1)
        connector = EmbeddedUpstreamConnector(loop: loop)
        leases = ScriptedLeaseRequester(upstream: local, hold: true)
        let channel = EmbeddedChannel(loop: loop)
        origin = loop.now
        let handler = ProxyConnectionHandler(
            router: ProxyRouter(config: config, provider: FixedUpstreamProvider(upstream: local)),
            tracker: ConnectionTracker(), logger: Logger(label: "peer-rig", factory: { _ in SwiftLogNoOpLogHandler() }),
            connector: connector, leases: leases)
        try ProxyServer.addHTTPCodec(to: channel.pipeline.syncOperations)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        clientChannel = channel
    }

    private var clientChannel: EmbeddedChannel!

    func send(model: String, stream: Bool = true, extraHeaders: String = "") throws {
        let body = "{\"stream\":\(stream),\"model\":\"\(model)\",\"messages\":[]}"
        try clientChannel.writeInbound(
            ByteBuffer(
                string: "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
                    + extraHeaders + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"))
    }

    func sendRaw(_ text: String) throws {
        try clientChannel.writeInbound(ByteBuffer(string: text))
    }

    func advance(to time: Duration) {
        loop.advanceTime(to: origin + .nanoseconds(time.nanoseconds))
    }

    func text() throws -> String {
        while let data = try clientChannel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { received += buffer.readableBytesView }
        }
        return String(decoding: received, as: UTF8.self)
    }

    var upstream: EmbeddedChannel {
        get throws {
            guard let channel = connector.channels.last else { throw RigError("no upstream connection") }
            return channel
        }
    }

    func upstreamRequest() throws -> String {
        var bytes: [UInt8] = []
        while let data = try upstream.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { bytes += buffer.readableBytesView }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func upstreamWrites(_ text: String) throws { try upstream.writeInbound(ByteBuffer(string: text)) }
}

@Suite struct PeerRelayTests {
    static let yaml = """
        heartbeatInterval: 1s
        models:
          m:
            proxy: http://127.0.0.1:9001
        peers:
          far:
            proxy: http://far.test:8443/api
            apiKey: sk-far
            models: [m, remote-model]
            filters: {stripParams: "temperature", setParams: {zdr: true}}
          open:
            proxy: https://open.test
            models: [o]
        """

    @Test func keyInjectedBodyRenamedAndNoSupervisorAsked() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        try rig.send(
            model: "far/m", extraHeaders: "Authorization: Bearer client-key\r\nx-api-key: client-key\r\nX-Trace: t\r\n")
        let sent = try rig.upstreamRequest()
        let target = try #require(rig.connector.targets.last)
        #expect(target.host == "far.test" && target.port == 8443 && !target.usesTLS)
        #expect(sent.hasPrefix("POST /api/v1/chat/completions HTTP/1.1\r\n"), "\(sent)")
        #expect(sent.contains("\r\nAuthorization: Bearer sk-far\r\n") && sent.contains("\r\nx-api-key: sk-far\r\n"))
        #expect(!sent.contains("client-key"), "the client's credentials are replaced: \(sent)")
        #expect(sent.contains("\r\nHost: far.test:8443\r\n") && sent.contains("\r\nX-Trace: t\r\n"))
        // The peer's own id for the model, in place; the peer's filters applied (setParams appended at the end).
        #expect(sent.hasSuffix("\r\n\r\n{\"stream\":true,\"model\":\"m\",\"messages\":[],\"zdr\":true}"), "\(sent)")
        #expect(!rig.leases.isWaiting, "a peer request asks no supervisor for a lease")
    }

    @Test func withoutAKeyTheClientsHeadersGoOnAndTheBareNameIsNotRewritten() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        try rig.send(model: "o", extraHeaders: "Authorization: Bearer client-key\r\n")
        let sent = try rig.upstreamRequest()
        let target = try #require(rig.connector.targets.last)
        #expect(target.usesTLS && target.port == 443 && target.connection.tlsHandshakeTimeout == .seconds(10))
        #expect(sent.contains("\r\nAuthorization: Bearer client-key\r\n") && sent.contains("\r\nHost: open.test\r\n"))
        #expect(sent.hasSuffix("{\"stream\":true,\"model\":\"o\",\"messages\":[]}"), "\(sent)")
    }

    @Test func heartbeatsWhileThePeerIsSilentThenItsStream() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        try rig.send(model: "far/remote-model")
        _ = try rig.upstreamRequest()
        rig.advance(to: .milliseconds(999))
        #expect(try rig.text().isEmpty)
        rig.advance(to: .seconds(1))
        #expect(try rig.text().contains(": keepalive\n\n"))
        rig.advance(to: .seconds(3))
        #expect(try rig.text().components(separatedBy: ": keepalive\n\n").count - 1 == 3)
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        try rig.upstreamWrites("e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
        let text = try rig.text()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("data: [DONE]\n\n"), "\(text)")
        #expect(text.hasSuffix("0\r\n\r\n"))
    }

    @Test func refusedPeerIsA502EnvelopeBeforeTheCommit() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        rig.connector.refuse = true
        try rig.send(model: "far/m")
        let text = try rig.text()
        #expect(text.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(text)")
        #expect(text.contains("{\"error\":{\"message\":\"upstream for model 'far/m' refused the connection:"))
    }

    /// llama-swap's peer default of 60 s for the response head, after the heartbeat committed `200`: one in-band 504.
    @Test func peersResponseHeadBoundAfterTheCommitIsOneInBandError() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        try rig.send(model: "far/m")
        _ = try rig.upstreamRequest()
        rig.advance(to: .milliseconds(59_999))
        #expect(!(try rig.text()).contains("error"))
        rig.advance(to: .seconds(60))
        let text = try rig.text()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.components(separatedBy: "data: {\"error\":").count == 2, "\(text)")
        #expect(text.contains("upstream sent no response head within 60000 ms (responseHeaderTimeout)"), "\(text)")
        #expect(text.hasSuffix("0\r\n\r\n"))
        #expect(!(try rig.upstream).isActive, "the peer connection is closed")
    }

    /// A `GET` names its model in the query: the peer gets its own id there (llama-swap rewrites the query too).
    @Test func queryModelIsRewrittenForTheGetRoutes() throws {
        let rig = try PeerRelayRig(yaml: Self.yaml)
        try rig.sendRaw("GET /props?x=1&model=far%2Fremote-model&y=a%20b HTTP/1.1\r\nHost: proxy\r\n\r\n")
        let sent = try rig.upstreamRequest()
        #expect(sent.hasPrefix("GET /api/props?x=1&model=remote-model&y=a%20b HTTP/1.1\r\n"), "\(sent)")
        #expect(sent.contains("\r\nAuthorization: Bearer sk-far\r\n"))
    }
}
