import NIOCore

/// One end of a byte tunnel between a client connection and an upstream connection, after an HTTP upgrade (a
/// WebSocket through `/upstream/<model>/…`, as llama-swap passes ComfyUI's `/ws`): what one side reads the other
/// writes, unchanged.
///
/// Both ends live on the same event loop (the upstream is connected on the client's loop), so a pair talks
/// synchronously. Reading follows the partner's writability (a slow reader slows the writer down instead of
/// filling memory), and when either side closes or fails, the other is closed and `onClose` runs once.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    /// A `read()` waits until the partner can take more bytes.
    private var readPending = false
    /// Shared by both ends: runs once, when the first of them closes.
    private let closed: ClosedOnce

    private final class ClosedOnce {
        var action: (() -> Void)?
        init(_ action: @escaping () -> Void) { self.action = action }
        func run() {
            let action = self.action
            self.action = nil
            action?()
        }
    }

    private init(closed: ClosedOnce) {
        self.closed = closed
    }

    /// Two ends joined to each other; `onClose` runs once, after the first of them closes.
    static func pair(onClose: @escaping () -> Void) -> (TunnelHandler, TunnelHandler) {
        let closed = ClosedOnce(onClose)
        let first = TunnelHandler(closed: closed)
        let second = TunnelHandler(closed: closed)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.send(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let partner = self.partner
        self.partner = nil
        partner?.partnerClosed()
        closed.run()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable ?? true {
            context.read()
        } else {
            readPending = true
        }
    }

    /// Written and flushed at once: without HTTP handlers a socket read is one `channelRead`, so this is one flush
    /// per read as a read-complete flush would be, and a decoder's leftovers (handed on as it leaves the pipeline,
    /// with no read-complete after them) go out too.
    private func send(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    /// Closes both ends (a side that closed before the tunnel was in place, a failed pipeline change).
    func closeBoth() {
        let partner = self.partner
        self.partner = nil
        partner?.partnerClosed()
        partnerClosed()
    }

    private func partnerClosed() {
        partner = nil
        context?.flush()
        context?.close(promise: nil)
        closed.run()
    }
}
