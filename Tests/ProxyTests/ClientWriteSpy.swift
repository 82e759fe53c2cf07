import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Sits between the HTTP codec and ``ProxyConnectionHandler`` on the driven client channel and records every
/// response part the proxy writes, with the loop's time — also after the client left, when the channel drops the
/// bytes: "nothing is written after the client closed" is asserted on these records, not on an empty socket.
final class ClientWriteSpy: ChannelOutboundHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Part: Hashable {
        case head(status: Int)
        case body([UInt8])
        case end
    }

    var loop: EmbeddedEventLoop?
    var origin = NIODeadline.uptimeNanoseconds(0)
    private(set) var writes: [(at: Duration, part: Part)] = []
    /// When the proxy closed the client connection, if it did.
    private(set) var closedAt: Duration?

    private var now: Duration {
        .nanoseconds(Int64((loop?.now ?? origin).uptimeNanoseconds - origin.uptimeNanoseconds))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part: Part =
            switch unwrapOutboundIn(data) {
            case .head(let head): .head(status: Int(head.status.code))
            case .body(.byteBuffer(let buffer)): .body(Array(buffer.readableBytesView))
            case .body(.fileRegion): .body([])
            case .end: .end
            }
        writes.append((now, part))
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if closedAt == nil { closedAt = now }
        context.close(mode: mode, promise: promise)
    }

    /// Writes made after `time`.
    func writes(after time: Duration) -> [Part] { writes.filter { $0.at > time }.map(\.part) }
}
