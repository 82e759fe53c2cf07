import FakeUpstream
import Foundation
import NIOCore
import RawHTTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The options on every TCP socket a relayed request uses: the client's connection as the proxy accepted it, the
/// proxy's connection to the upstream, the fake's accepted one and the raw test client's. Nagle is off on each
/// (`TCP_NODELAY`: an SSE chunk goes out at once) and nothing else was switched on by mistake.
///
/// Why: `.socketOption(.tcp_nodelay)` is NIO's `SOL_SOCKET` level with `TCP_NODELAY`'s number, which is `SO_DEBUG`
/// on Linux. Root may set `SO_DEBUG`; any other user gets `EACCES`, and NIO then closes the connection: a proxy run
/// by an ordinary user reset every client. Tests run as root, so the answers alone could not show it.
@Suite struct SocketOptionsTests {
    /// One TCP socket of this process.
    struct TCPSocket: CustomStringConvertible {
        var fd: Int32
        var localPort: Int
        var remotePort: Int
        var debug: Int32
        var noDelay: Int32

        var description: String { "fd \(fd) :\(localPort) → :\(remotePort) SO_DEBUG \(debug) TCP_NODELAY \(noDelay)" }
    }

    /// This process's connected TCP sockets, from `/proc/self/fd`.
    static func connectedSockets() -> [TCPSocket] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var sockets: [TCPSocket] = []
        for name in names {
            guard let fd = Int32(name),
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"),
                target.hasPrefix("socket:"), let local = port(fd, peer: false), let remote = port(fd, peer: true),
                let noDelay = option(fd, Int32(IPPROTO_TCP), TCP_NODELAY), let debug = option(fd, SOL_SOCKET, SO_DEBUG)
            else { continue }
            sockets.append(TCPSocket(fd: fd, localPort: local, remotePort: remote, debug: debug, noDelay: noDelay))
        }
        return sockets
    }

    /// The socket's own port, or its peer's.
    private static func port(_ fd: Int32, peer: Bool) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length) }
        }
        guard result == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return nil
        }
    }

    private static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    @Test func everySocketOfARelayedRequestHasNagleOffAndNothingElse() async throws {
        let fixture = try await ProxyFixture.start(scenario: "description: llama-server defaults\n", heartbeat: nil)
        defer { Task { await fixture.stop() } }
        // Kept open after its answer: the client's connection and the pooled upstream one are both still there.
        let client = try await RawTCPClient.connect(port: fixture.proxyPort)
        _ = try await client.send("GET /upstream/m/health HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try await client.response(timeout: .seconds(30))
        #expect(response.status == 200)

        let sockets = Self.connectedSockets()
        let proxyPort = fixture.proxyPort
        let upstreamPort = fixture.upstreamPort
        let roles: [(String, (TCPSocket) -> Bool)] = [
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
