import NIOHTTP1

/// Headers that describe one TCP hop, not the message (RFC 9110 §7.6.1); a proxy must not forward them.
///
/// Everything else passes unchanged, in order, so clients see the upstream's headers as the upstream sent them.
enum HopByHopHeaders {
    /// The names, lowercase, compared with each field's name as bytes.
    private static let nameList: [StaticString] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// `headers` without hop-by-hop fields, including any named in a `Connection` header. One pass over the
    /// fields finds what goes (names compared as bytes, ASCII case-insensitively, lengths first); only then is a
    /// copy changed, by NIO's removal of each such name. A request and its response each pass here, and most
    /// carry one or two such fields or none.
    static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
        var doomed: [String] = []
        for field in headers {
            guard let known = nameList.first(where: { HTTPFieldBytes.equalsIgnoringCase(field.name.utf8, $0) })
            else { continue }
            let name = known.description
            if !doomed.contains(name) { doomed.append(name) }
            guard name == "connection" else { continue }
            // The names a Connection header lists go too (empty list items and spaces around them ignored).
            for token in field.value.utf8.split(separator: UInt8(ascii: ",")) {
                let listed = HTTPFieldBytes.trimmed(token)
                if !listed.isEmpty { doomed.append(String(decoding: listed, as: UTF8.self)) }
            }
        }
        guard !doomed.isEmpty else { return headers }
        var result = headers
        for name in doomed { result.remove(name: name) }
        return result
    }
}
