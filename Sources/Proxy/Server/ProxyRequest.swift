import NIOCore
import NIOHTTP1

/// A client request as the proxy received it: the head and the whole body.
///
/// The body is read completely before routing because the model is named inside it (as llama-swap does), into one
/// buffer sized by `Content-Length` when the client sent one; routing reads `model` and `stream` in place
/// (``RequestSniffer``) and the same buffer is forwarded byte for byte, never copied again.
struct ProxyRequest {
    var head: HTTPRequestHead
    var body: ByteBuffer
    /// When the request's head arrived: the heartbeat clock starts here.
    var arrival: NIODeadline
    /// The body's `model` and `stream`, when they were read before routing (a large body is scanned off the event
    /// loop); `nil` lets the router read them.
    var sniffed: RequestSniffer.Result?

    /// Path without the query string. (A byte search: `firstIndex(of: "?")` on the string walks grapheme
    /// clusters, and routing asks for the path several times a request.)
    var path: String {
        head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[..<$0]) } ?? head.uri
    }

    /// Query string without `?`, if any.
    var query: String? {
        head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[head.uri.index(after: $0)...]) }
    }
}
