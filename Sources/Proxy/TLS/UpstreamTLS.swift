import NIOConcurrencyHelpers
import NIOSSL

/// The client side of TLS to `https://` upstreams (peers): certificates are checked against the system's trust
/// store (Debian's `/etc/ssl/certs/ca-certificates.crt`, as NIOSSL finds it) and the upstream's host name, which is
/// also sent as SNI. The `NIOSSLContext` is made once, on the first https connection (loading the trust store takes
/// milliseconds), and shared by every connection of the server that owns this value.
///
/// Tests trust a CA they made with ``init(additionalTrustRoots:)``; users have no such key (llama-swap has none).
public final class UpstreamTLS: Sendable {
    private let additionalTrustRoots: [NIOSSLCertificate]
    private let made = NIOLockedValueBox<Result<NIOSSLContext, any Error>?>(nil)

    /// The system's trust store only.
    public init() {
        self.additionalTrustRoots = []
    }

    /// The system's trust store and `additionalTrustRoots` (tests: a CA made at test time).
    init(additionalTrustRoots: [NIOSSLCertificate]) {
        self.additionalTrustRoots = additionalTrustRoots
    }

    /// The shared context; the error of its making (no readable trust store) is kept and thrown on every call.
    func context() throws -> NIOSSLContext {
        try made.withLockedValue { made in
            if let made { return made }
            let result = Result { () throws -> NIOSSLContext in
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .fullVerification
                configuration.trustRoots = .default
                if !additionalTrustRoots.isEmpty {
                    configuration.additionalTrustRoots = [.certificates(additionalTrustRoots)]
                }
                // The relay speaks HTTP/1.1 only; say so, so that a server offering h2 does not pick it.
                configuration.applicationProtocols = ["http/1.1"]
                return try NIOSSLContext(configuration: configuration)
            }
            made = result
            return result
        }.get()
    }
}
