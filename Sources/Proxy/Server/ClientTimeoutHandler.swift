import Logging
import NIOCore
import NIOHTTP1
import Wire

/// Runs ``ClientTimeouts`` for one client connection: feeds it the connection's events on the event loop's clock,
/// keeps its one timer, and carries out an expiry (`408` and close, or a quiet close).
///
/// It sits between NIO's HTTP codec and ``ProxyConnectionHandler``, so it sees request parts as they are decoded
/// (not held back behind a response in progress, as the connection handler holds them) and every response part on
/// its way out. A `408` is written from here: a request timing out in its head never reached the connection handler.
///
/// The timer is lazy: a deadline that moves later or goes away leaves the scheduled callback where it is, and a
/// callback that finds no deadline passed re-arms for the one in force. A keep-alive connection's deadlines move at
/// every request (header, body, idle bounds in turn), and scheduling and cancelling at each move cost several
/// microseconds a request (a cancel searches the event loop's whole timer queue); now a busy connection's callback
/// fires about once per header period. Expiries stay exact: the callback for a deadline that moved earlier is
/// rescheduled, and one that fires early only re-arms.
final class ClientTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler, NIOScheduledCallbackHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: ClientLimits
    private let logger: Logger
    private var timeouts: ClientTimeouts?
    /// The scheduled callback and when it fires; it may be earlier than the deadline in force, never later.
    private var timer: (callback: NIOScheduledCallback, at: NIODeadline)?

    init(limits: ClientLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ClientBytesArrived {
            update(context: context) { $0.bytesReceived(now: context.eventLoop.now) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = context.eventLoop.now
        switch unwrapInboundIn(data) {
        case .head: update(context: context) { $0.requestHeadReceived(now: now) }
        case .body: update(context: context) { $0.requestBodyReceived(now: now) }
        case .end: update(context: context) { $0.requestEndReceived(now: now) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where !(100..<200).contains(head.status.code) || head.status.code == 101:
            update(context: context) { $0.responseStarted() }
        case .head, .body: break
        case .end: update(context: context) { $0.responseEnded(now: context.eventLoop.now) }
        }
        context.write(data, promise: promise)
    }

    // MARK: The timer

    /// The context the scheduled callback works in (set while the handler is in a pipeline; a strong reference the
    /// callback does not need to capture: a weak one would put every retain of this handler on the slow path).
    private var context: ChannelHandlerContext?

    private func start(context: ChannelHandlerContext) {
        guard timeouts == nil else { return }
        self.context = context
        timeouts = ClientTimeouts(limits: limits, now: context.eventLoop.now)
        update(context: context) { $0.start() }
    }

    private func update(context: ChannelHandlerContext, _ event: (inout ClientTimeouts) -> ClientTimeouts.TimerAction) {
        guard timeouts != nil else { return }
        perform(event(&timeouts!), context: context)
    }

    private func perform(_ action: ClientTimeouts.TimerAction, context: ChannelHandlerContext) {
        switch action {
        case .none, .cancel:
            // A callback left scheduled finds no deadline passed when it fires, and re-arms if one applies then.
            break
        case .arm(let deadline):
            if let timer, timer.at <= deadline.at { return }
            cancelTimer()
            if let callback = try? context.eventLoop.assumeIsolated().scheduleCallback(at: deadline.at, handler: self) {
                timer = (callback, deadline.at)
            }
        }
    }

    private func cancelTimer() {
        timer?.callback.cancel()
        timer = nil
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        guard let context else { return }
        timerFired(context: context)
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard timeouts != nil else { return }
        guard let expiry = timeouts!.timerFired(now: context.eventLoop.now) else {
            update(context: context) { $0.resync() }
            return
        }
        switch expiry {
        case .closeQuietly:
            logger.debug("closing an idle client connection (clientIdleTimeout)")
            context.close(promise: nil)
        case .answerRequestTimeout(let kind, let limit):
            let what = kind == .header ? "no complete request head" : "no request body bytes"
            let message = "\(what) within \(limit.milliseconds) ms (\(kind))"
            logger.debug("client request timed out", metadata: ["bound": "\(kind)"])
            writeRequestTimeout(message, context: context)
        }
    }

    /// `408` with the OpenAI envelope and `Connection: close`, then the close once it is written.
    private func writeRequestTimeout(_ message: String, context: ChannelHandlerContext) {
        ClosingErrorResponse.write(OpenAIError(message: message, type: "timeout_error", code: 408), to: context)
    }
}

extension Duration {
    /// Whole milliseconds, for messages.
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
