#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether a model's port is free before its server is started: a bind test on the address the model will listen
/// on. Without it, a port held by another server is health-checked, found "ready", and sent the user's requests,
/// while the model's own server fails to bind and exits.
///
/// The test binds with `SO_REUSEADDR` (as servers do), so connections of an earlier run in TIME_WAIT do not count
/// as taken; a listener does, on the same address or the wildcard one.
public enum PortCheck {
    /// The address to bind for a model whose upstream host is `host`, or `nil` when the host is not this machine
    /// (nothing to check: the proxy does not own ports elsewhere).
    public static func localBindAddress(for host: String) -> String? {
        switch host.lowercased() {
        case "localhost": "127.0.0.1"
        case "0.0.0.0", "::", "::1": host
        default: host.hasPrefix("127.") ? host : nil
        }
    }

    /// True when `port` can be bound on `address` (IPv4 or IPv6 literal) right now.
    public static func isFree(_ port: Int, on address: String) -> Bool {
        guard (1...65535).contains(port) else { return false }
        if address.contains(":") {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = UInt16(port).bigEndian
            guard inet_pton(AF_INET6, address, &socketAddress.sin6_addr) == 1 else { return false }
            return bindTest(family: AF_INET6, &socketAddress)
        }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return false }
        return bindTest(family: AF_INET, &socketAddress)
    }

    /// The first port after `port` (up to `attempts` of them, skipping `avoiding`) that `isFree`, or `nil`.
    public static func nextFree(after port: Int, on address: String, avoiding: Set<Int> = [], attempts: Int = 100)
        -> Int?
    {
        var candidate = port
        for _ in 0..<attempts {
            candidate += 1
            guard candidate <= 65535 else { return nil }
            if !avoiding.contains(candidate) && isFree(candidate, on: address) { return candidate }
        }
        return nil
    }

    /// A port the system hands out on 127.0.0.1 right now (bound to port 0, read back, closed): free a moment ago.
    /// For tools that start a server on a port of their choosing (the soak's proxy).
    public static func ephemeralPort() -> Int? {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = 0
        guard inet_pton(AF_INET, "127.0.0.1", &socketAddress.sin_addr) == 1 else { return nil }
        var port: Int?
        _ = bindTest(family: AF_INET, &socketAddress) { fd in
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
            }
            if named { port = Int(UInt16(bigEndian: bound.sin_port)) }
        }
        return port
    }

    private static func bindTest<Address>(
        family: Int32, _ address: inout Address, whileBound: (Int32) -> Void = { _ in }
    ) -> Bool {
        #if canImport(Glibc) || canImport(Musl)
            let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(family, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let length = socklen_t(MemoryLayout<Address>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        if bound { whileBound(fd) }
        return bound
    }
}
