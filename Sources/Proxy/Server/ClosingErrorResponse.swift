import NIOCore
import NIOHTTP1
import Wire

/// An error answered in the OpenAI envelope with `Connection: close`, then the close once it is written: how the
/// client side ends a connection it cannot go on with — a `408` from the client timeouts (``ClientTimeoutHandler``),
/// a `400` or `431` for bytes NIO's decoder refused (``ProxyConnectionHandler``, ``ClientProtocolErrorAnswer``).
enum ClosingErrorResponse {
    /// Writes `error` through `context` (a handler whose outbound parts are `HTTPServerResponsePart`), then closes.
    static func write(_ error: OpenAIError, to context: ChannelHandlerContext) {
        let body = ByteBuffer(string: error.json)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: error.code)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        let bound = context.loopBound
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).assumeIsolated().whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
