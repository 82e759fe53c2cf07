import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Proxy

#if canImport(Glibc)
    import Glibc
#endif

/// A failed listen says why and what to do: the causes a user meets (a port below 1024 as an ordinary user, a port
/// another process holds, an address the machine does not have) in words, anything else as NIO said it.
@Suite struct ListenFailureTests {
    @Test(arguments: [
        (EACCES, "cannot listen on 127.0.0.1:80: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE"),
        (EADDRINUSE, "cannot listen on 127.0.0.1:80: address already in use (another process listens there"),
        (EADDRNOTAVAIL, "cannot listen on 127.0.0.1:80: address not available (no interface of this machine"),
    ])
    func knownCausesAreSaidInWords(errno code: Int32, prefix: String) {
        let message = ListenFailure.message(
            address: "127.0.0.1:80", error: IOError(errnoCode: code, reason: "bind(descriptor:ptr:bytes:)"))
        #expect(message.hasPrefix(prefix), "\(message)")
        #expect(!message.contains("errno"), "\(message)")
    }

    @Test func otherErrorsKeepNIOsText() {
        let error = IOError(errnoCode: EMFILE, reason: "socket")
        #expect(ListenFailure.message(address: "a:1", error: error) == "cannot listen on a:1: \(error)")
        #expect(ListenFailure.message(address: "a:1", error: ChannelError.ioOnClosedChannel) == "cannot listen on a:1: \(ChannelError.ioOnClosedChannel)")
    }

    /// The real path: the service's error for a port this test holds.
    @Test func aPortInUseIsSaidSo() async throws {
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { holder.close(promise: nil) }
        let port = try #require(holder.localAddress?.port)
        let logger = Logger(label: "listen", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = ProxyServer(router: ProxyRouter(config: ProxyConfig(models: [:]), provider: FixedUpstreamProvider()), port: port, logger: logger)
        let service = ProxyServerService(server: server, address: "127.0.0.1:\(port)", grace: .zero, logger: logger)
        await #expect {
            try await service.run()
        } throws: { error in
            "\(error)" == "cannot listen on 127.0.0.1:\(port): address already in use (another process listens there: "
                + "stop it or choose another port)"
        }
    }
}
