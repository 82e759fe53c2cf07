import NIOCore
import NIOHTTP1
import Wire

/// The answer to a request NIO's HTTP decoder rejected, in the OpenAI envelope; ``ProxyConnectionHandler`` writes it
/// and closes the connection.
///
/// It takes the place (and the rules) of NIO's `HTTPServerProtocolErrorHandler`, whose answer is an empty `400`:
/// only a response can be sent when none is under way, and a decoder error ends the connection (the decoder
/// accepts nothing after one). Limits set in the decoder (``ClientLimits``) surface as `headerOverflow`, answered
/// `431`; NIO reports a too-long request target, a too-long field, too many fields and too many bytes with that one
/// error and no position, so all four are `431` with a message naming the limits.
enum ClientProtocolErrorAnswer {
    /// The envelope for one decoder error.
    static func answer(to error: HTTPParserError, limits: ClientLimits) -> OpenAIError {
        if error == .headerOverflow {
            return OpenAIError(
                message: "request head too large: at most \(limits.maxHeaderCount) header fields, "
                    + "\(limits.maxHeaderBytes) bytes in all, \(limits.maxHeaderLineBytes) bytes in the request "
                    + "target or any one header name or value",
                type: "invalid_request_error", code: 431)
        }
        return OpenAIError(message: "malformed HTTP request (\(error))", type: "invalid_request_error", code: 400)
    }
}
