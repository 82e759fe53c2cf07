import NIOCore
import NIOHTTP1
import NIOPosix

/// The client half of the floor: request parts to its one upstream connection (made on first use, on the same
/// event loop; made again after a response that must not be reused).
final class FloorClientSide: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    let upstream: SocketAddress
    var upstreamChannel: Channel?
    var pending: [HTTPClientRequestPart] = []
    var connecting = false
    init(upstream: SocketAddress) { self.upstream = upstream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part: HTTPClientRequestPart
        switch unwrapInboundIn(data) {
        case .head(let head): part = .head(head)
        case .body(let body): part = .body(.byteBuffer(body))
        case .end(let trailers): part = .end(trailers)
        }
        if let channel = upstreamChannel, channel.isActive {
            if case .end = part { channel.writeAndFlush(part, promise: nil) } else { channel.write(part, promise: nil) }
            return
        }
        pending.append(part)
        guard !connecting else { return }
        connecting = true
        let client = NIOLoopBound<Channel>(context.channel, eventLoop: context.eventLoop)
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        let owner = me
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(FloorUpstreamSide(client: client, owner: owner))
                }
            }
            .connect(to: upstream)
            .whenComplete { result in
                let me = me.value
                me.connecting = false
                switch result {
                case .success(let channel):
                    me.upstreamChannel = channel
                    for part in me.pending { channel.write(part, promise: nil) }
                    me.pending = []
                    channel.flush()
                case .failure:
                    client.value.close(promise: nil)
                }
            }
    }
    func channelInactive(context: ChannelHandlerContext) {
        upstreamChannel?.close(promise: nil)
        context.fireChannelInactive()
    }
}
