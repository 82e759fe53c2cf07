import NIOCore
import NIOHTTP1

/// The last handler of an upstream connection's pipeline: hands every response part to the relay that opened the
/// connection. The relay and this handler share one event loop (the upstream is connected on the client's loop), so
/// parts are passed on synchronously, without a hop or a buffer.
final class UpstreamResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let relay: RequestRelay

    init(relay: RequestRelay) {
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        relay.upstreamPart(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        relay.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        relay.upstreamError(error)
        context.close(promise: nil)
    }
}
