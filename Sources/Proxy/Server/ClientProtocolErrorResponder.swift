import NIOCore
import NIOHTTP1
import Wire

/// Answers a request NIO's HTTP decoder rejected, in the OpenAI envelope, then closes the connection.
///
/// It takes the place (and the rules) of NIO's `HTTPServerProtocolErrorHandler`, whose answer is an empty `400`:
/// only a response can be sent when none is under way, and a decoder error ends the connection (the decoder
/// accepts nothing after one). Limits set in the decoder (``ClientLimits``) surface as `headerOverflow`, answered
/// `431`; NIO reports a too-long request target, a too-long field, too many fields and too many bytes with that one
/// error and no position, so all four are `431` with a message naming the limits.
final class ClientProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: ClientLimits
    private var hasUnterminatedResponse = false

    init(limits: ClientLimits) {
        self.limits = limits
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // A response under way cannot be followed by another; a closed connection (the decoder reports a head cut
        // short by the close as an error too) takes no answer.
        guard !hasUnterminatedResponse, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        let answer = Self.answer(to: parserError, limits: limits)
        let body = ByteBuffer(string: answer.json)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: answer.code)
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let bound = context.loopBound
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where (100..<200).contains(head.status.code) && head.status.code != 101: break
        case .head: hasUnterminatedResponse = true
        case .body: break
        case .end: hasUnterminatedResponse = false
        }
        context.write(data, promise: promise)
    }

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
