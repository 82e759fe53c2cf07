import NIOCore
import NIOEmbedded

@testable import Proxy

/// An ``UpstreamConnector`` whose connections are `EmbeddedChannel`s on the test's `EmbeddedEventLoop`: the relay
/// installs its real HTTP client handlers on them; the test writes the upstream's bytes into them and reads the
/// request the relay sent. `refuse` makes the next connects fail as a refused TCP connection would.
final class EmbeddedUpstreamConnector: UpstreamConnector {
    let loop: EmbeddedEventLoop
    /// Every connection the relay opened, in order.
    private(set) var channels: [EmbeddedChannel] = []
    /// Where each connection was asked to go, in order.
    private(set) var targets: [UpstreamURL] = []
    var refuse = false

    init(loop: EmbeddedEventLoop) {
        self.loop = loop
    }

    func connect(
        to target: UpstreamURL,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        targets.append(target)
        if refuse {
            return loop.makeFailedFuture(IOError(errnoCode: 111, reason: "connect"))  // ECONNREFUSED
        }
        let channel = EmbeddedChannel(loop: loop)
        channels.append(channel)
        return initializer(channel).flatMap {
            channel.connect(to: try! SocketAddress(ipAddress: "127.0.0.1", port: target.port))
        }.map { channel as any Channel }
    }
}
