import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the proxy could not listen, in words a user can act on. NIO's own text for a failed `bind` is
/// `bind(descriptor:ptr:bytes:): Permission denied) (errno: 13)`: right, but it names neither the cause nor the way
/// out, and since the proxy runs as an ordinary user (it needs no privileges) a port below 1024 is the likely one.
enum ListenFailure {
    /// `cannot listen on ADDRESS: …` for `error`, the failure of ``ProxyServer/start()``.
    static func message(address: String, error: any Error) -> String {
        "cannot listen on \(address): " + reason(error)
    }

    static func reason(_ error: any Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        switch error.errnoCode {
        case EACCES:
            return "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE; choose a port from 1024 up, "
                + "or put a reverse proxy in front)"
        case EADDRINUSE:
            return "address already in use (another process listens there: stop it or choose another port)"
        case EADDRNOTAVAIL:
            return "address not available (no interface of this machine has that address)"
        default:
            return "\(error)"
        }
    }
}
