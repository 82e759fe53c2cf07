import NIOHTTP1

/// Headers that describe one TCP hop, not the message (RFC 9110 §7.6.1); a proxy must not forward them.
///
/// Everything else passes unchanged, in order, so clients see the upstream's headers as the upstream sent them.
enum HopByHopHeaders {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// The same names as an array, for removal by case-insensitive comparison.
    private static let nameList = Array(names)

    /// `headers` without hop-by-hop fields, including any named in a `Connection` header. One pass over the
    /// fields finds what goes (names compared as bytes, ASCII case-insensitively, lengths first); only then is a
    /// copy changed, by NIO's removal of each such name. A request and its response each pass here, and most
    /// carry one or two such fields or none.
    static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
        var doomed: [String] = []
        for field in headers {
            guard let known = nameList.first(where: { equalsIgnoringCase(field.name, $0) }) else { continue }
            if !doomed.contains(known) { doomed.append(known) }
            guard known == "connection" else { continue }
            // The names a Connection header lists go too (empty list items and spaces around them ignored).
            for token in field.value.utf8.split(separator: UInt8(ascii: ",")) {
                let name = trimmed(token)
                if !name.isEmpty { doomed.append(String(decoding: name, as: UTF8.self)) }
            }
        }
        guard !doomed.isEmpty else { return headers }
        var result = headers
        for name in doomed { result.remove(name: name) }
        return result
    }

    /// ASCII case-insensitive equality of a field name with a lowercase name.
    private static func equalsIgnoringCase(_ name: String, _ lowercase: String) -> Bool {
        guard name.utf8.count == lowercase.utf8.count else { return false }
        return zip(name.utf8, lowercase.utf8).allSatisfy { ($0 | 0x20) == $1 || $0 == $1 }
    }

    /// Without spaces and tabs at either end.
    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var bytes = bytes
        while let first = bytes.first, first == 32 || first == 9 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 32 || last == 9 { bytes = bytes.dropLast() }
        return bytes
    }
}
