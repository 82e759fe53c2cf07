import NIOCore

/// Sits next to the socket in the recorder's upstream pipeline and tells the session, just before each write that
/// carries bytes goes down, what time it is.
///
/// Why: a recording's offsets count from the moment the request was complete at the upstream, and the fake upstream
/// that replays it counts from the moment it read the request's last byte. The session must therefore start its
/// clock no later than the write that put that last byte on the wire. Which write that is depends on the framing:
/// with `Content-Length` it is the last body part (the end part writes nothing); with chunked framing it is the end
/// part (`0\r\n\r\n`). A stamp taken after the fact loses the race against an upstream on another thread: in stop
/// 20's CI and again in a TSan run the recorder's clock started 45 µs to 0.6 ms after the fake's, so recorded
/// offsets fell below the served ones. Stamped here, below the encoder, every stamp precedes its bytes' syscall.
final class UpstreamWriteStamp: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let stamp: (NIODeadline) -> Void

    /// `stamp` runs on the channel's event loop, before a non-empty write is passed on.
    init(stamp: @escaping (NIODeadline) -> Void) {
        self.stamp = stamp
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).readableBytes > 0 { stamp(.now()) }
        context.write(data, promise: promise)
    }
}
