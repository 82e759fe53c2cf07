import NIOCore
import NIOPosix
import Testing

@testable import Proxy

/// Upstream connections by address (IPv4, IPv6: connected to as they are, without a resolver) and by name
/// (`localhost`: resolved), each reaching the listener it names.
struct UpstreamConnectTests {
    @Test(arguments: [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("localhost", "127.0.0.1")])
    func connectsToAddressesAndNames(host: String, listenOn: String) async throws {
        let listener: any Channel
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
                .bind(host: listenOn, port: 0).get()
        } catch {
            // A machine without IPv6 loopback cannot run the `::1` case; say so rather than pass silently.
            withKnownIssue("no \(listenOn) on this machine: \(error)") { throw error }
            return
        }
        defer { listener.close(promise: nil) }
        let port = try #require(listener.localAddress?.port)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let channel = try await BootstrapUpstreamConnector().connect(
            to: UpstreamURL(host: host, port: port), on: loop
        ) { $0.eventLoop.makeSucceededVoidFuture() }.get()
        defer { channel.close(promise: nil) }
        #expect(channel.remoteAddress?.port == port)
        #expect(channel.remoteAddress?.ipAddress == listenOn)
    }

    /// Nothing listening: the connect fails (refused) instead of hanging, by address and by name.
    @Test(arguments: ["127.0.0.1", "localhost"])
    func refusedConnectsFail(host: String) async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        try await listener.close()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        await #expect(throws: (any Error).self) {
            _ = try await BootstrapUpstreamConnector().connect(
                to: UpstreamURL(host: host, port: port), on: loop
            ) { $0.eventLoop.makeSucceededVoidFuture() }.get()
        }
    }
}
