import NIOHTTP1

/// A request as the decoder delivered it (head plus the whole body), turned into what the responder and the
/// journal need.
struct IncomingRequest {
    var head: HTTPRequestHead
    var body: [UInt8]

    /// Path without the query string.
    var path: String {
        head.uri.firstIndex(of: "?").map { String(head.uri[..<$0]) } ?? head.uri
    }

    /// Query string without `?`, if any.
    var query: String? {
        head.uri.firstIndex(of: "?").map { String(head.uri[head.uri.index(after: $0)...]) }
    }

    /// The context handed to the responder: model and stream sniffed from the body whatever the Content-Type says
    /// (as llama-server reads it), or from the query.
    var context: RequestContext {
        RequestContext(
            method: head.method.rawValue, uri: head.uri, headers: head.headers.map { HeaderField($0.name, $0.value) },
            body: body)
    }
}
