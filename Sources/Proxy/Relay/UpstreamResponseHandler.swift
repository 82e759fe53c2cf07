import NIOCore
import NIOHTTP1

/// The last handler of an upstream connection's pipeline: hands every response part to the relay that uses the
/// connection. The relay and this handler share one event loop (the upstream is connected on the client's loop), so
/// parts are passed on synchronously, without a hop or a buffer.
///
/// A pooled connection (``UpstreamPool``) keeps its handler between requests: `relay` is the current request's,
/// `nil` while the connection idles; an idle connection that receives a byte is closed (an upstream talking out of
/// turn cannot be trusted with the next request), and its close is reported through `idleClosed`.
final class UpstreamResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    var relay: RequestRelay?
    /// Set while the connection idles in a pool: called when it closes.
    var idleClosed: (() -> Void)?

    init(relay: RequestRelay) {
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let relay else {
            context.close(promise: nil)
            return
        }
        relay.upstreamPart(unwrapInboundIn(data))
    }

    /// The end of one read from the upstream's socket: what the relay wrote from it goes to the client in one flush.
    func channelReadComplete(context: ChannelHandlerContext) {
        relay?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        relay?.upstreamClosed()
        idleClosed?()
        idleClosed = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        relay?.upstreamError(error)
        context.close(promise: nil)
    }
}
