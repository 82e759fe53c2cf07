import FakeUpstream
import Foundation
import NIOCore
import RawHTTP
import TestSupport
import Testing

/// The options on every TCP socket a relayed request uses: the client's connection as the proxy accepted it, the
/// proxy's connection to the upstream, the fake's accepted one and the raw test client's. Nagle is off on each
/// (`TCP_NODELAY`: an SSE chunk goes out at once) and nothing else was switched on by mistake.
///
/// Why: `.socketOption(.tcp_nodelay)` is NIO's `SOL_SOCKET` level with `TCP_NODELAY`'s number, which is `SO_DEBUG`
/// on Linux. Root may set `SO_DEBUG`; any other user gets `EACCES`, and NIO then closes the connection: a proxy run
/// by an ordinary user reset every client. Tests run as root, so the answers alone could not show it.
@Suite struct SocketOptionsTests {
    @Test func everySocketOfARelayedRequestHasNagleOffAndNothingElse() async throws {
        let fixture = try await ProxyFixture.start(scenario: "description: llama-server defaults\n", heartbeat: nil)
        defer { Task { await fixture.stop() } }
        // Kept open after its answer: the client's connection and the pooled upstream one are both still there.
        let client = try await RawTCPClient.connect(port: fixture.proxyPort)
        _ = try await client.send("GET /upstream/m/health HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try await client.response(timeout: .seconds(30))
        #expect(response.status == 200)

        let sockets = ConnectedTCPSockets.ofThisProcess()
        let proxyPort = fixture.proxyPort
        let upstreamPort = fixture.upstreamPort
        let roles: [(String, (ConnectedTCPSockets.Socket) -> Bool)] = [
            ("the client's connection, accepted by the proxy", { $0.localPort == proxyPort }),
            ("the raw client's own end", { $0.remotePort == proxyPort }),
            ("the proxy's connection to the upstream", { $0.remotePort == upstreamPort }),
            ("the upstream's connection, accepted by the fake", { $0.localPort == upstreamPort }),
        ]
        for (role, matches) in roles {
            let found = sockets.filter(matches)
            #expect(!found.isEmpty, "no socket for \(role) among \(sockets)")
            for socket in found {
                #expect(socket.noDelay == 1, "\(role): \(socket)")
                #expect(socket.debug == 0, "\(role): \(socket)")
            }
        }
        await client.close()
    }
}
