import Logging
import NIOCore
import NIOEmbedded

@testable import Proxy

/// The proxy's front door as ``ProxyServer`` builds it, for many connections on one `EmbeddedEventLoop` with driven
/// time: one router, one connection tracker and one upstream connector shared by every connection, as in the real
/// server, so "the next well-formed request on a fresh connection still works" and "no request is left counted in
/// flight" are asserted on the same state a real server would carry from one client to the next.
final class FrontDoorRig {
    let loop = EmbeddedEventLoop()
    let limits: ClientLimits
    let router: ProxyRouter
    let tracker = ConnectionTracker()
    let connector: EmbeddedUpstreamConnector
    let leases: ScriptedLeaseRequester
    let origin: NIODeadline

    /// Small limits so the fuzz reaches them, and an upstream head bound so a relayed request always ends (the
    /// embedded upstream never answers).
    init(limits: ClientLimits, responseHeaderTimeout: Duration) {
        self.limits = limits
        let upstream = UpstreamURL(host: "upstream.test", port: 8080)
        let model = ModelConfig(
            id: "m", command: nil, upstream: upstream, responseHeaderTimeout: responseHeaderTimeout)
        router = ProxyRouter(
            config: ProxyConfig(clientLimits: limits, models: ["m": model]),
            provider: FixedUpstreamProvider(upstream: upstream))
        connector = EmbeddedUpstreamConnector(loop: loop)
        leases = ScriptedLeaseRequester(upstream: upstream, hold: false)
        origin = loop.now
    }

    var now: Duration { .nanoseconds(Int64(loop.now.uptimeNanoseconds - origin.uptimeNanoseconds)) }

    func advance(by duration: Duration) {
        loop.advanceTime(by: .nanoseconds(duration.nanoseconds))
    }

    /// A new client connection with the real pipeline.
    func connect() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try ProxyServer.addHTTPCodec(to: channel.pipeline.syncOperations, limits: limits)
        try channel.pipeline.syncOperations.addHandler(
            ProxyConnectionHandler(
                router: router, tracker: tracker, logger: Logger(label: "front-door", factory: { _ in SwiftLogNoOpLogHandler() }),
                connector: connector, leases: leases))
        tracker.opened(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return channel
    }

    /// Everything the proxy wrote to `channel` since the last call.
    func drain(_ channel: EmbeddedChannel) -> [UInt8] {
        var bytes: [UInt8] = []
        while let data = try? channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { bytes += buffer.readableBytesView }
        }
        return bytes
    }
}
