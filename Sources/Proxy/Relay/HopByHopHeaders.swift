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

    /// The same names as an array, for removal by case-insensitive comparison.
    private static let nameList = Array(names)

    /// `headers` without hop-by-hop fields, including any named in a `Connection` header. Fields are removed from a
    /// copy by NIO's case-insensitive comparison (lengths first) rather than rebuilt with a lowercased copy and a
    /// set lookup per field: a request and its response each pass here.
    static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
        var result = headers
        for value in headers["connection"] {
            for token in value.split(separator: ",") {
                let name = token.trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { result.remove(name: name) }
            }
        }
        for name in nameList where result.contains(name: name) { result.remove(name: name) }
        return result
    }
}
