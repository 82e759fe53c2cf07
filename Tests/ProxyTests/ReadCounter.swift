import NIOCore

/// Counts the `read()` calls that reach it (put first in an embedded channel's pipeline): an `EmbeddedChannel`
/// neither reads by itself nor reports `autoRead`, so tests of when the proxy asks for bytes count the asks.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}
