import NIOCore

/// How a ``RequestRelay`` opens its connection to an upstream.
///
/// Why a protocol: the relay's timing rules (heartbeats, time bounds) must be asserted exactly through the real
/// relay, so tests replace the socket with an `EmbeddedChannel` on an `EmbeddedEventLoop` whose clock they drive
/// (`advanceTime`), write the upstream's response bytes into it and read the request the relay sent. Production uses
/// ``BootstrapUpstreamConnector`` (a TCP `ClientBootstrap`).
protocol UpstreamConnector: Sendable {
    /// Connects to `target` on `eventLoop` (the client connection's loop, so relay and upstream share one thread),
    /// runs `initializer` on the new channel before it is active, and completes on `eventLoop`.
    func connect(
        to target: UpstreamURL,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel>
}
