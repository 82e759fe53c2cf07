/// Where a model's server listens: the `proxy` setting, parsed once so the relay never re-parses text.
///
/// Only `http://` is accepted: upstreams are llama-server processes on this machine or the local network, and the
/// relay speaks plain HTTP/1.1 to them.
public struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address (IPv6 without brackets), to connect to.
    public var host: String
    /// TCP port; 80 when the URL names none.
    public var port: Int
    /// Path prefix to put before every forwarded path, without a trailing `/` (usually empty).
    public var basePath: String

    /// An upstream at `host:port`, with an optional path prefix.
    public init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses `http://host[:port][/path]`; IPv6 hosts in brackets (`http://[::1]:8080`). The failure says why.
    public static func parse(_ text: String) -> Result<UpstreamURL, ParseFailure> {
        let lowered = text.lowercased()
        if lowered.hasPrefix("https://") {
            return .failure(
                ParseFailure(reason: "https upstreams are not supported: the proxy speaks plain HTTP to its upstreams"))
        }
        guard lowered.hasPrefix("http://") else {
            return .failure(ParseFailure(reason: "expected a URL such as http://127.0.0.1:8080"))
        }
        let rest = text.dropFirst("http://".count)
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
            return .failure(ParseFailure(reason: "expected a host name or address after http://"))
        }
        var port = 80
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                return .failure(ParseFailure(reason: "expected a port from 1 to 65535, got '\(portText)'"))
            }
            port = number
        }
        return .success(UpstreamURL(host: String(host), port: port, basePath: path))
    }

    /// Why a `proxy` value is not a usable upstream URL.
    public struct ParseFailure: Error, Sendable, Hashable {
        /// Why, in words a user can act on.
        public var reason: String
    }

    /// `http://host:port/basePath`, with IPv6 hosts bracketed.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "http://\(shownHost):\(port)\(basePath)"
    }
}
