import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// This process's connected TCP sockets with the two options the socket tests look at (SocketOptionsTests,
/// RecorderTests): `TCP_NODELAY` must be on and `SO_DEBUG` off. `SO_DEBUG` is what NIO's
/// `.socketOption(.tcp_nodelay)` really sets on Linux, and only root may set it: for anyone else the connection fails.
public enum ConnectedTCPSockets {
    /// One TCP socket.
    public struct Socket: Sendable, CustomStringConvertible {
        public var fd: Int32
        public var localPort: Int
        public var remotePort: Int
        /// `SO_DEBUG`.
        public var debug: Int32
        /// `TCP_NODELAY`.
        public var noDelay: Int32

        public var description: String { "fd \(fd) :\(localPort) → :\(remotePort) SO_DEBUG \(debug) TCP_NODELAY \(noDelay)" }
    }

    /// This process's connected TCP sockets, from `/proc/self/fd`.
    public static func ofThisProcess() -> [Socket] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var sockets: [Socket] = []
        for name in names {
            guard let fd = Int32(name),
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"),
                target.hasPrefix("socket:"), let local = port(fd, peer: false), let remote = port(fd, peer: true),
                let noDelay = option(fd, Int32(IPPROTO_TCP), TCP_NODELAY), let debug = option(fd, SOL_SOCKET, SO_DEBUG)
            else { continue }
            sockets.append(Socket(fd: fd, localPort: local, remotePort: remote, debug: debug, noDelay: noDelay))
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
}
