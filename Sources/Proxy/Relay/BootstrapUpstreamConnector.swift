import NIOCore
import NIOPosix

/// The production ``UpstreamConnector``: a TCP connection with Nagle off (SSE chunks go out at once), small first
/// reads (most upstream reads are one token's event), and a 10 s connect bound (upstreams are local; a refused or
/// unroutable one must fail fast, not hold a client).
struct BootstrapUpstreamConnector: UpstreamConnector {
    func connect(
        to target: UpstreamURL,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .connectTimeout(.seconds(10))
            .channelInitializer(initializer)
            .connect(host: target.host, port: target.port)
    }
}
