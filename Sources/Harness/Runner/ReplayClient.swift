import NIOCore
import NIOPosix
import RawHTTP

/// Applies a client profile live over the one raw client (`RawTCPClient`): it sends one request per connection,
/// records every read with its monotonic time, decodes the response as it arrives (`ResponseDecoder`), and closes
/// the connection when the profile's next deadline passes, like the real client would. Raw, so that nothing between
/// the socket and the record buffers or reframes.
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
        let recorder = try await eventLoop.submit {
            NIOLoopBound(
                AttemptRecorder(method: method, profile: profile, limit: limit, promise: promise, onSent: onSent),
                eventLoop: eventLoop)
        }.get()
        let client: RawTCPClient
        do {
            client = try await RawTCPClient.connect(
                host: host, port: port, group: eventLoop, connectTimeout: .seconds(5)
            ) { event in
                recorder.value.observe(event)
            }
        } catch {
            promise.fail(error)
            throw error
        }
        client.sendOnLoop(request).whenComplete { result in
            recorder.value.sent(result, client: client)
        }
        return try await promise.futureResult.get()
    }
}

/// One attempt's state: decodes reads and runs the profile's timers on the connection's event loop. Everything
/// happens on that loop, so it needs no lock.
final class AttemptRecorder {
    private let limit: Duration
    private let promise: EventLoopPromise<ReplayAttempt>
    private let onSent: (@Sendable () -> Void)?
    private var clock: ClientTimeoutClock
    private let decoder: ResponseDecoder
    private var client: RawTCPClient?
    private var sentAt: NIODeadline?
    private var reads: [ReplayAttempt.Read] = []
    private var timer: Scheduled<Void>?
    private var scheduledFor: ClientTimeoutClock.Deadline?
    private var finished = false

    init(
        method: String, profile: ClientProfile, limit: Duration, promise: EventLoopPromise<ReplayAttempt>,
        onSent: (@Sendable () -> Void)?
    ) {
        self.onSent = onSent
        self.limit = limit
        self.promise = promise
        self.clock = ClientTimeoutClock(profile: profile)
        self.decoder = ResponseDecoder(requestMethod: method)
    }

    /// The request went to the socket (or could not).
    func sent(_ result: Result<NIODeadline, any Error>, client: RawTCPClient) {
        self.client = client
        guard !finished else {
            // The connection ended before the send completed: the peer's end was recorded, now let go of it.
            client.closeNow()
            return
        }
        switch result {
        case .success(let at):
            sentAt = sentAt ?? at
            onSent?()
            schedule()
        case .failure(let error):
            sentAt = .now()
            finish(.closed("could not send the request: \(error)"), byClient: true)
        }
    }

    func observe(_ event: RawTCPClient.Event) {
        guard !finished else { return }
        switch event {
        case .read(let read):
            let start = sentAt ?? read.at
            if sentAt == nil { sentAt = read.at }
            let step = decoder.feed(read.bytes)
            reads.append(
                ReplayAttempt.Read(at: read.at, bytes: read.bytes, completedHead: step.completedHead, body: step.body))
            clock.received(
                at: .nanoseconds((read.at - start).nanoseconds), completesHead: step.completedHead,
                hasBody: !step.body.isEmpty)
            if decoder.isComplete {
                finish(.complete, byClient: true)
            } else if let problem = decoder.problem {
                finish(.closed("bad response: \(problem)"), byClient: true)
            } else {
                schedule()
            }
        case .ended(.eof, _):
            decoder.connectionClosed()
            finish(decoder.isComplete ? .complete : .closed("closed by the server"), byClient: false)
        case .ended(.reset, _):
            finish(.closed("reset by the server"), byClient: false)
        case .ended(.error(let reason), _):
            finish(.closed(reason), byClient: false)
        case .ended(.closedByClient, _):
            finish(.closed("connection removed"), byClient: false)
        }
    }

    /// Arms the timer for the profile's next deadline (capped by the observation limit).
    private func schedule() {
        guard !finished, let sentAt, let client else { return }
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
        let loopBound = NIOLoopBound(self, eventLoop: client.eventLoop)
        timer = client.eventLoop.scheduleTask(deadline: fireAt) {
            loopBound.value.finish(end, byClient: true)
        }
    }

    /// Settles the attempt; the connection is closed either way (a peer's FIN leaves it half open), but only a
    /// close that the client chose counts as `clientClosedAt`.
    private func finish(_ end: ReplayAttempt.End, byClient: Bool) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        let now = NIODeadline.now()
        client?.closeNow()
        // Here, on the loop: the recorder itself may be released on another thread.
        decoder.close()
        promise.succeed(
            ReplayAttempt(
                sentAt: sentAt ?? now, reads: reads, end: end, endedAt: now, clientClosedAt: byClient ? now : nil,
                lastDeadline: scheduledFor, head: decoder.head))
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
