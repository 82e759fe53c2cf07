import Foundation
import NIOHTTP1

/// Headers that describe one TCP hop, not the message (RFC 9110 §7.6.1); a proxy must not forward them.
///
/// Everything else passes unchanged, in order, so clients see the upstream's headers as the upstream sent them.
enum HopByHopHeaders {
    static let names: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// `headers` without hop-by-hop fields, including any named in a `Connection` header.
    static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
        var extra = Set<String>()
        for value in headers["connection"] {
            for token in value.split(separator: ",") {
                extra.insert(token.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        var result = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if names.contains(lower) || extra.contains(lower) { continue }
            result.add(name: name, value: value)
        }
        return result
    }
}
