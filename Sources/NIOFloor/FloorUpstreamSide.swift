import NIOCore
import NIOHTTP1

/// The upstream half of the floor: response parts to the paired client as they arrive, one flush per read.
final class FloorUpstreamSide: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let client: NIOLoopBound<Channel>
    let owner: NIOLoopBound<FloorClientSide>
    /// llama-server closes the connection after every stream (while advertising keep-alive): never reuse it then.
    var reusable = true
    init(client: NIOLoopBound<Channel>, owner: NIOLoopBound<FloorClientSide>) {
        self.client = client
        self.owner = owner
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let client = self.client.value
        switch unwrapInboundIn(data) {
        case .head(let head):
            reusable = !(head.headers.first(name: "content-type")?.hasPrefix("text/event-stream") ?? false)
                && head.isKeepAlive
            client.write(HTTPServerResponsePart.head(head), promise: nil)
        case .body(let body): client.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        case .end(let trailers):
            client.writeAndFlush(HTTPServerResponsePart.end(trailers), promise: nil)
            if !reusable {
                owner.value.upstreamChannel = nil
                context.close(promise: nil)
            }
        }
    }
    /// Events are relayed as they arrive: one flush per upstream read, as a streaming proxy must.
    func channelReadComplete(context: ChannelHandlerContext) {
        client.value.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) { context.fireChannelInactive() }
}
