/// How the relay's connection to an upstream is made: the bounds before any HTTP is spoken.
///
/// Local models keep the defaults; a peer sets them from its `timeouts` (llama-swap's `connect` and `tlsHandshake`).
public struct UpstreamConnectionOptions: Sendable, Hashable {
    /// The longest wait for the TCP connection; `nil`: no bound of ours (the kernel gives up after its SYN retries).
    public var connectTimeout: Duration?
    /// The longest wait from the TCP connection to the end of the TLS handshake (https only); `nil`: no bound.
    public var tlsHandshakeTimeout: Duration?
    /// TCP keep-alive probes after this much silence, and between probes (Go's `Dialer.KeepAlive`, llama-swap's
    /// peer `timeouts.keepalive`): a connection waiting minutes for a silent prefill is not dropped by a NAT or a
    /// firewall in between. `nil`: the socket's default (off).
    public var keepAlive: Duration?
    /// llama-swap's `timeouts.idleConn`: a pooled idle connection is closed after at most this long (besides the
    /// pool's own rule, 1 s before the upstream's advertised keep-alive timeout); `nil`: no cap of its own.
    public var idleConnTimeout: Duration? = nil

    /// Local upstreams: 10 s to connect (a refused or unroutable one must fail fast, not hold a client), 10 s for a
    /// TLS handshake (Go's `TLSHandshakeTimeout` default, which llama-swap uses), no keep-alive probes.
    public init(
        connectTimeout: Duration? = .seconds(10), tlsHandshakeTimeout: Duration? = .seconds(10),
        keepAlive: Duration? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
        self.keepAlive = keepAlive
    }
}
