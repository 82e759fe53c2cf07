import DurationMath
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import Proxy

/// The real connection handler and the real ``RequestRelay`` on one `EmbeddedEventLoop`, with time that only moves
/// when the test says so.
///
/// The client side is an `EmbeddedChannel` with the server pipeline `ProxyServer` installs (NIO's HTTP/1 server
/// codec with pipelining assistance and error handling, then ``ProxyConnectionHandler``); the test writes raw request
/// bytes into it and reads the raw response bytes the proxy wrote, so every assertion is about wire bytes. A
/// ``ClientWriteSpy`` between the codec and the handler records when each response part was written, even after the
/// client left. The upstream side is an `EmbeddedChannel` per connection from ``EmbeddedUpstreamConnector``, with the
/// relay's own HTTP client handlers; the test writes the upstream's response bytes into it. Leases come from a
/// ``ScriptedLeaseRequester`` (granted at once unless the test holds them).
///
/// Everything runs on the thread that made the rig (the loop's contract), so tests using it are synchronous.
final class DrivenRelayRig {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let connector: EmbeddedUpstreamConnector
    let leases: ScriptedLeaseRequester
    let spy = ClientWriteSpy()
    /// The router the handler asks (its activity store is what `/api/activity` shows).
    let router: ProxyRouter
    /// The loop's time when the rig was made: test times are durations from here.
    let origin: NIODeadline
    /// Every byte the client received so far (read with ``take()``).
    private(set) var received: [UInt8] = []
    private var taken = 0

    static let modelID = "m"
    /// The `X-Request-Id` every ``sendRequest(stream:path:)`` carries (the proxy echoes it on the response head).
    static let requestID = "r1"

    /// A rig for one model with these settings (heartbeats off when `heartbeat` is nil).
    init(
        heartbeat: Duration?,
        comment: String = "keepalive",
        responseHeaderTimeout: Duration? = nil,
        streamIdleTimeout: Duration? = nil,
        sendLoadingState: Bool = false,
        holdLeases: Bool = false,
        clientLimits: ClientLimits = ClientLimits(),
        metrics: ProxyMetrics = .disabled,
        pools: UpstreamPools? = nil,
        logger: Logger = Logger(label: "driven-relay", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        let upstream = UpstreamURL(host: "upstream.test", port: 8080)
        let model = ModelConfig(
            id: Self.modelID, command: nil, upstream: upstream, sendLoadingState: sendLoadingState,
            heartbeat: HeartbeatSettings(interval: heartbeat, comment: comment),
            responseHeaderTimeout: responseHeaderTimeout, streamIdleTimeout: streamIdleTimeout)
        router = ProxyRouter(
            config: ProxyConfig(clientLimits: clientLimits, models: [Self.modelID: model]),
            provider: FixedUpstreamProvider(upstream: upstream), metrics: metrics)
        connector = EmbeddedUpstreamConnector(loop: loop)
        leases = ScriptedLeaseRequester(upstream: upstream, hold: holdLeases)
        client = EmbeddedChannel(loop: loop)
        origin = loop.now
        let handler = ProxyConnectionHandler(
            router: router, tracker: ConnectionTracker(),
            logger: logger,
            connector: pools.map { PooledUpstreamConnector(base: connector, pools: $0) } ?? connector,
            leases: leases)
        spy.loop = loop
        spy.origin = origin
        try ProxyServer.addHTTPCodec(to: client.pipeline.syncOperations, limits: clientLimits)
        try client.pipeline.syncOperations.addHandler(spy)
        try client.pipeline.syncOperations.addHandler(handler)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    }

    /// Time since the rig was made, on the loop's clock.
    var now: Duration { .nanoseconds(Int64(loop.now.uptimeNanoseconds - origin.uptimeNanoseconds)) }

    /// Runs the loop's timers up to `time` (since the rig was made), in deadline order.
    func advance(to time: Duration) {
        loop.advanceTime(to: origin + .nanoseconds(time.nanoseconds))
    }

    func advance(by duration: Duration) { advance(to: now + duration) }

    /// The client sends a chat completion request (streaming unless told otherwise).
    func sendRequest(stream: Bool = true, path: String = "/v1/chat/completions") throws {
        let body = "{\"model\":\"\(Self.modelID)\",\"stream\":\(stream),\"messages\":[]}"
        try client.writeInbound(
            ByteBuffer(
                string: "POST \(path) HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
                    + "X-Request-Id: \(Self.requestID)\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"))
    }

    /// The bytes the client received since the last call.
    func take() throws -> [UInt8] {
        try drain()
        defer { taken = received.count }
        return Array(received[taken...])
    }

    /// `take()` as text (tests compare readable strings; the bytes are ASCII).
    func takeText() throws -> String { String(decoding: try take(), as: UTF8.self) }

    /// Everything the client received, parsed as one HTTP/1.1 response.
    func response() throws -> WireResponse {
        try drain()
        return WireResponse(received)
    }

    private func drain() throws {
        while let data = try client.readOutbound(as: IOData.self) {
            switch data {
            case .byteBuffer(let buffer): received += buffer.readableBytesView
            case .fileRegion: fatalError("the proxy never sends files")
            }
        }
    }

    // MARK: The upstream

    /// The upstream connection the relay opened (the last one).
    var upstream: EmbeddedChannel {
        get throws {
            guard let channel = connector.channels.last else { throw RigError("the relay opened no upstream connection") }
            return channel
        }
    }

    /// The request the relay sent upstream, as raw bytes.
    func upstreamRequest() throws -> String {
        var bytes: [UInt8] = []
        while let data = try upstream.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { bytes += buffer.readableBytesView }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The upstream writes raw bytes.
    func upstreamWrites(_ text: String) throws {
        try upstream.writeInbound(ByteBuffer(string: text))
    }

    /// The upstream's event-stream head (chunked, as llama-server sends it).
    func upstreamStreamHead(status: String = "200 OK", contentType: String = "text/event-stream") throws {
        try upstreamWrites(
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    /// One HTTP chunk carrying `text` (any slice of the SSE body).
    func upstreamChunk(_ text: String) throws {
        try upstreamWrites(String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n")
    }

    /// The upstream's terminating chunk.
    func upstreamEnds() throws { try upstreamWrites("0\r\n\r\n") }

    /// The upstream resets the connection (RST): NIO reports ECONNRESET, then the channel closes.
    func upstreamResets() throws {
        let channel = try upstream
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)"))
        if channel.isActive { try channel.close().wait() }
    }

    /// The upstream closes the connection (FIN) without ending its answer.
    func upstreamCloses() throws {
        try upstream.close().wait()
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
