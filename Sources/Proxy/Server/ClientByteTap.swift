import NIOCore

/// First in a client connection's pipeline: announces every read (``ClientBytesArrived``) before passing the bytes,
/// unchanged, to NIO's HTTP decoder. It reads nothing of their content: parsing is the decoder's.
final class ClientByteTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(ClientBytesArrived())
        context.fireChannelRead(data)
    }
}
