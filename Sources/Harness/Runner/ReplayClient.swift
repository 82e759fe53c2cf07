import NIOCore
import NIOPosix

/// A raw HTTP/1.1 client that applies a client profile live: it sends one request per connection, records every
/// read with its monotonic time, and closes the connection when the profile's next deadline passes, like the real
/// client would. Raw, so that nothing between the socket and the record buffers or reframes.
public struct ReplayClient: Sendable {
    /// The event loops the connections run on.
    public var group: any EventLoopGroup

    /// A client on `group` (NIO's shared group by default).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    /// Sends `request` to `host:port` once, under `profile` (already scaled), watching at most `limit`; calls
    /// `onSent` (on the connection's event loop) when the request has been handed to the socket.
    public func attempt(
        host: String, port: Int, request: [UInt8], method: String, profile: ClientProfile, limit: Duration,
        onSent: (@Sendable () -> Void)? = nil
    ) async throws -> ReplayAttempt {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: ReplayAttempt.self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: false)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ReplayAttemptHandler(
                            request: request, method: method, profile: profile, limit: limit, promise: promise,
                            onSent: onSent))
                }
            }
            .connect(host: host, port: port).get()
        do {
            return try await promise.futureResult.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }
}

/// One attempt's handler: writes the request when the connection is up, then records reads and runs the profile's
/// timers on the connection's event loop. Everything happens on that loop, so it needs no lock.
final class ReplayAttemptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let request: [UInt8]
    private let limit: Duration
    private let promise: EventLoopPromise<ReplayAttempt>
    private let onSent: (@Sendable () -> Void)?
    private var clock: ClientTimeoutClock
    private var parser: HTTPResponseParser
    private var sentAt: NIODeadline?
    private var reads: [ReplayAttempt.Read] = []
    private var timer: Scheduled<Void>?
    private var scheduledFor: ClientTimeoutClock.Deadline?
    private var finished = false

    init(
        request: [UInt8], method: String, profile: ClientProfile, limit: Duration,
        promise: EventLoopPromise<ReplayAttempt>, onSent: (@Sendable () -> Void)? = nil
    ) {
        self.onSent = onSent
        self.request = request
        self.limit = limit
        self.promise = promise
        self.clock = ClientTimeoutClock(profile: profile)
        self.parser = HTTPResponseParser(requestMethod: method)
    }

    func channelActive(context: ChannelHandlerContext) {
        let buffer = context.channel.allocator.buffer(bytes: request)
        let written = context.writeAndFlush(NIOAny(buffer))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        written.whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success:
                handler.sentAt = .now()
                handler.onSent?()
                handler.schedule(context: context)
            case .failure(let error):
                handler.sentAt = .now()
                handler.finish(.closed("could not send the request: \(error)"), context: context, close: true)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let now = NIODeadline.now()
        let start = sentAt ?? now
        if sentAt == nil { sentAt = now }
        let progress = parser.consume(bytes)
        reads.append(
            ReplayAttempt.Read(at: now, bytes: bytes, completedHead: progress.completedHead, body: progress.body))
        clock.received(
            at: .nanoseconds((now - start).nanoseconds), completesHead: progress.completedHead,
            hasBody: !progress.body.isEmpty)
        if parser.isComplete {
            finish(.complete, context: context, close: true)
        } else if let problem = parser.problem {
            finish(.closed("bad response: \(problem)"), context: context, close: true)
        } else {
            schedule(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            parser.connectionClosed()
            finish(parser.isComplete ? .complete : .closed("closed by the server"), context: context, close: false)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !finished else { return }
        let reason: String
        if let io = error as? IOError, io.errnoCode == 104 || io.errnoCode == 32 {
            reason = "reset by the server"
        } else {
            reason = "\(error)"
        }
        finish(.closed(reason), context: context, close: true)
    }

    /// Arms the timer for the profile's next deadline (capped by the observation limit).
    private func schedule(context: ChannelHandlerContext) {
        guard !finished, let sentAt else { return }
        let next = clock.nextDeadline
        if let next, next == scheduledFor { return }
        timer?.cancel()
        scheduledFor = next
        let limitAt = sentAt + .nanoseconds(limit.nanosecondsClamped)
        let fireAt: NIODeadline
        let end: ReplayAttempt.End
        if let next, sentAt + .nanoseconds(next.at.nanosecondsClamped) <= limitAt {
            fireAt = sentAt + .nanoseconds(next.at.nanosecondsClamped)
            end = .timedOut(next.rule)
        } else {
            fireAt = limitAt
            end = .observationLimit
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: fireAt) {
            let (handler, context) = loopBound.value
            handler.finish(end, context: context, close: true)
        }
    }

    private func finish(_ end: ReplayAttempt.End, context: ChannelHandlerContext, close: Bool) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        let now = NIODeadline.now()
        if close { context.close(promise: nil) }
        promise.succeed(
            ReplayAttempt(
                sentAt: sentAt ?? now, reads: reads, end: end, endedAt: now, clientClosedAt: close ? now : nil,
                lastDeadline: scheduledFor, response: parser))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            timer?.cancel()
            let now = NIODeadline.now()
            promise.succeed(
                ReplayAttempt(
                    sentAt: sentAt ?? now, reads: reads, end: .closed("connection removed"), endedAt: now,
                    clientClosedAt: nil, lastDeadline: scheduledFor, response: parser))
        }
    }
}

extension Duration {
    /// Nanoseconds, saturating instead of trapping for durations beyond `Int64`.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}
