import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The proxy's HTTP server: accepts clients on one address and hands each connection to a
/// `ProxyConnectionHandler`. Embeddable: tests start it on port 0 and read the bound port.
public final class ProxyServer: Sendable {
    private let router: ProxyRouter
    private let host: String
    private let port: Int
    private let group: any EventLoopGroup
    private let logger: Logger
    private let tracker = ConnectionTracker()
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    /// TLS serving (`--tls-cert-file`): every connection is TLS, the HTTP codec behind it.
    private let tls: ServerTLS?
    /// Trust for `https://` upstreams (peers): the system's trust store.
    private let upstreamTLS: UpstreamTLS

    /// A server for `router` on `host:port` (port 0 picks a free one; loopback by default); with `tls`, HTTPS.
    public convenience init(
        router: ProxyRouter,
        host: String = "127.0.0.1",
        port: Int = 8080,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        tls: ServerTLS? = nil
    ) {
        self.init(
            router: router, host: host, port: port, logger: logger, group: group, tls: tls, upstreamTLS: UpstreamTLS())
    }

    /// As above, trusting `upstreamTLS` for https peers (tests: a CA made at test time).
    init(
        router: ProxyRouter, host: String = "127.0.0.1", port: Int = 8080, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, tls: ServerTLS? = nil,
        upstreamTLS: UpstreamTLS
    ) {
        self.router = router
        self.host = host
        self.port = port
        self.group = group
        self.logger = logger
        self.tls = tls
        self.upstreamTLS = upstreamTLS
    }

    /// Whether connections are HTTPS.
    public var servesTLS: Bool { tls != nil }

    /// Binds and starts accepting; returns the bound port.
    public func start() async throws -> Int {
        let router = self.router
        let tracker = self.tracker
        let logger = self.logger
        let tls = self.tls
        let upstreamTLS = self.upstreamTLS
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Small first reads: thousands of clients wait with nothing to read, and the allocator grows for busy ones.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { channel in
                tracker.opened(channel)
                // The limits in force when the connection is accepted (a SIGHUP applies to new connections).
                let limits = router.config.clientLimits
                return channel.eventLoop.makeCompletedFuture {
                    try ProxyServer.addHTTPCodec(to: channel.pipeline.syncOperations, limits: limits, logger: logger)
                    if let tls {
                        // In front of everything: the codec, the byte tap and the timeouts see the decrypted bytes.
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLServerHandler(context: tls.context), position: .first)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ProxyConnectionHandler(
                            router: router, tracker: tracker, logger: logger,
                            // Made per connection (a struct over the shared pools): the connector protocol is not
                            // Sendable (tests drive theirs on an EmbeddedEventLoop), so one cannot be captured here.
                            connector: PooledUpstreamConnector(base: BootstrapUpstreamConnector(tls: upstreamTLS)),
                            limits: limits,
                            sniffPool: .singleton)
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        listener.withLockedValue { $0 = channel }
        let bound = channel.localAddress?.port ?? port
        logger.info("proxy listening", metadata: ["address": "\(host):\(bound)", "tls": "\(tls != nil)"])
        return bound
    }

    /// The client side of a connection's pipeline, in front of ``ProxyConnectionHandler``: a byte tap
    /// (``ClientByteTap``), NIO's HTTP/1 server codec with the decoder's limits from `limits`, the client timeouts
    /// (``ClientTimeoutHandler``); ``ProxyConnectionHandler`` after them holds pipelined requests back until the
    /// current response ended and answers malformed requests (``ClientProtocolErrorAnswer``).
    /// One place, so the tests that drive a connection on an `EmbeddedChannel` install exactly this.
    static func addHTTPCodec(
        to pipeline: ChannelPipeline.SynchronousOperations,
        limits: ClientLimits = ClientLimits(),
        logger: Logger = Logger(label: "llama-proxy.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderLineBytes
        // No outbound header check (about 2 µs a request): a response's fields are the upstream's, as NIO's parser
        // accepted them (no CR, LF or bad name bytes), the client's own (an Origin echoed, a checked X-Request-Id)
        // or ours (constants, configured model names).
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(ClientByteTap(), position: .first)
        try pipeline.addHandler(ClientTimeoutHandler(limits: limits, logger: logger))
    }

    /// Requests being served right now.
    public var requestsInFlight: Int { tracker.inFlight }

    /// Stops accepting, lets requests in flight finish for up to `grace`, then closes every connection.
    public func stop(grace: Duration = .seconds(10)) async {
        let channel = listener.withLockedValue { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try? await channel?.close()
        await tracker.waitUntilIdle(timeout: grace)
        tracker.closeAll()
    }
}
