import DurationMath
import NIOCore
import NIOPosix
import NIOSSL

/// The production ``UpstreamConnector``: a TCP connection with Nagle off (SSE chunks go out at once), small first
/// reads (most upstream reads are one token's event), and the target's connect bound (10 s for local upstreams: a
/// refused or unroutable one must fail fast, not hold a client; a peer's `timeouts.connect`).
///
/// An `https://` target (a peer) gets TLS: a `NIOSSLClientHandler` first in the pipeline, with the host name as SNI
/// and checked against the certificate (an IP address is checked against the certificate's IP entries), trust from
/// ``UpstreamTLS``. The connection is reported only once the handshake has succeeded (``TLSHandshakeWaiter``).
struct BootstrapUpstreamConnector: UpstreamConnector {
    var tls = UpstreamTLS()

    func connect(
        to target: UpstreamURL,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        // No bound of ours: the kernel's SYN retries end the attempt (about two minutes on Linux) before this does.
        let connectTimeout =
            target.connection.connectTimeout.map { TimeAmount.nanoseconds($0.nanoseconds) } ?? .hours(1)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .connectTimeout(connectTimeout)
        if let keepAlive = target.connection.keepAlive {
            // Probes after `keepAlive` of silence and every `keepAlive` after that, as Go's dialer sets both.
            let seconds = SocketOptionValue(max(1, min(Int64(Int32.max), keepAlive.nanoseconds / 1_000_000_000)))
            bootstrap = bootstrap.channelOption(.socketOption(.so_keepalive), value: 1)
                .channelOption(Self.tcpKeepIdle, value: seconds)
                .channelOption(Self.tcpKeepInterval, value: seconds)
        }
        guard target.usesTLS else {
            // An address is connected to as it is: `connect(host:)` would resolve even `127.0.0.1` with getaddrinfo
            // on a Dispatch thread and hop back to the loop, about 50 µs of CPU per new connection (one per stream:
            // llama-server closes after each).
            if let address = try? SocketAddress(ipAddress: target.host, port: target.port) {
                return bootstrap.channelInitializer(initializer).connect(to: address)
            }
            return bootstrap.channelInitializer(initializer).connect(host: target.host, port: target.port)
        }
        let context: NIOSSLContext
        do {
            context = try tls.context()
        } catch {
            return eventLoop.makeFailedFuture(UpstreamTLSError("no TLS client context: \(error)"))
        }
        // SNI carries names only; for an address NIOSSL checks the certificate against the address connected to.
        let serverName = target.hostIsAddress ? nil : target.host
        let handshakeTimeout = target.connection.tlsHandshakeTimeout
        let peer = target.authority
        return bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let pipeline = channel.pipeline.syncOperations
                try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                try pipeline.addHandler(TLSHandshakeWaiter(timeout: handshakeTimeout, peer: peer))
            }.flatMap { _ in initializer(channel) }
        }
        .connect(host: target.host, port: target.port)
        .flatMap { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self).handshakeDone
            }
            .flatMap { $0 }
            .map { channel }
            .flatMapErrorThrowing { error in
                // Closed after the caller has heard why (a close now would reach it first, as a lost connection);
                // NIOSSL and the waiter close on every failure anyway.
                channel.eventLoop.execute { channel.close(promise: nil) }
                throw error
            }
        }
    }

    /// `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (NIO names no option for them).
    static let tcpKeepIdle = ChannelOptions.Types.SocketOption(
        level: .tcp, name: NIOBSDSocket.Option(rawValue: CInt(TCP_KEEPIDLE)))
    static let tcpKeepInterval = ChannelOptions.Types.SocketOption(
        level: .tcp, name: NIOBSDSocket.Option(rawValue: CInt(TCP_KEEPINTVL)))
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
