/// Where a model's server listens: the `proxy` setting, parsed once so the relay never re-parses text.
///
/// A model's `proxy` is `http://` only: upstreams are llama-server processes on this machine or the local network,
/// and the relay speaks plain HTTP/1.1 to them. A peer's may also be `https://` (``usesTLS``).
public struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address (IPv6 without brackets), to connect to.
    public var host: String
    /// TCP port; 80 when the URL names none.
    public var port: Int
    /// Path prefix to put before every forwarded path, without a trailing `/` (usually empty).
    public var basePath: String
    /// `https://` (peers only): TLS with the system's trust store, the host checked against the certificate.
    public var usesTLS = false
    /// The connection's bounds (a peer's `timeouts.connect` and `timeouts.tlsHandshake`).
    public var connection = UpstreamConnectionOptions()

    /// An upstream at `host:port`, with an optional path prefix.
    public init(host: String, port: Int, basePath: String = "", usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.usesTLS = usesTLS
    }

    /// Parses `http://host[:port][/path]`; IPv6 hosts in brackets (`http://[::1]:8080`). With `allowingHTTPS`
    /// (peers), `https://host[:port][/path]` too, port 443 by default. The failure says why.
    public static func parse(_ text: String, allowingHTTPS: Bool = false) -> Result<UpstreamURL, ParseFailure> {
        let lowered = text.lowercased()
        let tls = lowered.hasPrefix("https://")
        if tls, !allowingHTTPS {
            return .failure(
                ParseFailure(reason: "https upstreams are not supported: the proxy speaks plain HTTP to its upstreams"))
        }
        guard tls || lowered.hasPrefix("http://") else {
            return .failure(
                ParseFailure(
                    reason: allowingHTTPS
                        ? "expected an http:// or https:// URL" : "expected a URL such as http://127.0.0.1:8080"))
        }
        let scheme = tls ? "https://" : "http://"
        let rest = text.dropFirst(scheme.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.contains("?") || path.contains("#") {
            return .failure(ParseFailure(reason: "a query or fragment cannot be part of an upstream URL"))
        }
        while path.hasSuffix("/") { path.removeLast() }
        if authority.contains("@") {
            return .failure(ParseFailure(reason: "user names or passwords in the upstream URL are not supported"))
        }

        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(ParseFailure(reason: "an IPv6 host must be closed with ]"))
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                return .failure(ParseFailure(reason: "unexpected '\(after)' after the IPv6 host"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == ":" && !authority.hasPrefix("[") }) else {
            return .failure(ParseFailure(reason: "expected a host name or address after \(scheme)"))
        }
        var port = tls ? 443 : 80
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                return .failure(ParseFailure(reason: "expected a port from 1 to 65535, got '\(portText)'"))
            }
            port = number
        }
        return .success(UpstreamURL(host: String(host), port: port, basePath: path, usesTLS: tls))
    }

    /// Why a `proxy` value is not a usable upstream URL.
    public struct ParseFailure: Error, Sendable, Hashable {
        /// Why, in words a user can act on.
        public var reason: String
    }

    /// `http://host:port/basePath` (`https://` with TLS), with IPv6 hosts bracketed.
    public var description: String {
        "\(usesTLS ? "https" : "http")://\(authority)\(basePath)"
    }

    /// `host:port`, with an IPv6 host bracketed.
    public var authority: String {
        "\(bracketedHost):\(port)"
    }

    /// The host, bracketed when it is an IPv6 address. A byte search: `contains(":")` is Foundation's substring search,
    /// and the `Host` header is made for every forwarded request.
    private var bracketedHost: String {
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
    }

    /// The `Host` header for requests to this upstream: the port only when it is not the scheme's default (as Go's
    /// reverse proxy sends the URL's host), an IPv6 host bracketed.
    public var hostHeader: String {
        port == (usesTLS ? 443 : 80) ? bracketedHost : authority
    }

    /// Whether the host is an IPv4 or IPv6 address rather than a name (a name is sent as TLS SNI).
    var hostIsAddress: Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }
}
