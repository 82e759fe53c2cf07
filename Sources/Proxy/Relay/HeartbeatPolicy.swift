import Wire

/// Decides, for one request, when the client gets a heartbeat, who owns the response head, and how upstream
/// errors reach the client. A value with no IO and no clock: the relay reports what happened, with times as
/// `Duration` since the request arrived, and performs the returned ``HeartbeatAction``s in order on the client
/// connection's event loop. So every rule is testable with plain numbers, and no second writer exists.
///
/// Rules (heartbeat issue, "Behaviour"):
/// - A heartbeat is due when the client has received nothing for `interval`: the deadline is the last byte sent
///   (upstream's, ours, loading messages) plus `interval`, never a fixed ticker. The clock starts at arrival.
/// - Before the upstream's head, the first heartbeat commits `200` (``CommittedStreamHead``). A `2xx` event-stream
///   head that comes later is dropped and its body follows; any other answer, or a failure, becomes one in-band
///   error event and a clean end. With nothing committed, answers and failures pass through with their real status.
/// - Once the upstream's own event-stream head went out, a body that breaks off (reset, FIN, idle bound) ends with
///   the client connection closed without the terminating chunk, as it would be without the proxy (whoever wrote
///   the head owns the framing); if the break came between two events, one in-band error event naming what
///   happened goes first, so that SDK clients raise an error with a message instead of a bare network error.
///   Inside an event nothing may be added (the partial event would swallow it): the connection is just closed.
/// - Two bounds (``UpstreamTimeBounds``) end a wait on a wedged upstream: `responseHeaderTimeout` from sending the
///   request until the upstream's head, `streamIdleTimeout` between body reads after it. When one passes, the
///   upstream is closed and the client gets a `504` (nothing committed), an in-band error and a clean end (the
///   proxy committed), or the rule above (the upstream's head went out).
/// - Heartbeats go only at event boundaries of the upstream's body; a deadline that passes inside an event is
///   withheld (and counted), and the next is one interval later. The bytes that complete the event restart the
///   interval, so a withheld heartbeat is not sent in a burst afterwards.
/// - Nothing is written after the client left, nor after the response ended.
/// - A non-streaming request, or an interval of zero (or less), disables heartbeats: the policy then only passes
///   the upstream's answer through, so the relay keeps a single path for every request.
///
/// How a relay drives it, all on the client connection's event loop:
/// ```swift
/// var policy = HeartbeatPolicy(interval: model.heartbeatInterval, isStreamingRequest: request.stream)
/// perform(policy.start(now: elapsed()))
/// // request sent:   perform(policy.upstreamRequestSent(now: elapsed()))   (starts responseHeaderTimeout)
/// // upstream head:  perform(policy.upstreamHeadArrived(status:contentType:now:))
/// // upstream body:  tracker.consume(bytes); write(bytes); perform(policy.upstreamBodyForwarded(
/// //                     byteCount: bytes.count, endsAtEventBoundary: tracker.isAtEventBoundary, now: elapsed()))
/// // timer fired (timerFired / boundTimerFired), client closed, upstream ended or failed: the matching input,
/// // then perform(...)
/// ```
/// where `perform` runs each ``HeartbeatAction`` and `elapsed()` is the time since the request arrived.
///
/// The timer is lazy: bytes sent only move the deadline, and when an armed timer fires early for the moved
/// deadline, the policy re-arms it. A fast token stream thus costs one timer wake-up per interval, not one per
/// chunk.
public struct HeartbeatPolicy: Sendable {
    /// Where the response stands.
    private enum Phase: Sendable, Hashable {
        /// Nothing sent to the client yet; waiting for the upstream's head (queue, load, prefill).
        case awaitingUpstreamHead
        /// The proxy committed `200` itself; the upstream's head has not arrived.
        case committedAwaitingUpstreamHead
        /// The proxy committed `200`; the upstream answered an error status whose body is being collected.
        case collectingErrorBody(status: Int)
        /// An event stream flows to the client, under the proxy's head or the upstream's own.
        case streaming
        /// The upstream's own non-SSE or error answer is being forwarded untouched: no heartbeats.
        case passingThrough
        /// The response ended, failed, or the client left.
        case finished
    }

    /// The silence after which a heartbeat is due; meaningful only when ``isEnabled``.
    public let interval: Duration
    /// The request asked for a stream: a `2xx` event-stream answer is then followed event by event.
    public let isStreamingRequest: Bool
    /// Whether this request gets heartbeats at all (a streaming request with a positive interval).
    public let isEnabled: Bool
    /// Counters for the request's debug log line.
    public private(set) var stats = HeartbeatStats()

    private var phase = Phase.awaitingUpstreamHead
    /// The proxy, not the upstream, wrote the response head: failures become in-band errors.
    private var proxyCommitted = false
    private var started = false
    /// When the client last received a byte; the request's arrival before that.
    private var lastClientByteAt = Duration.zero
    /// Whether the upstream body forwarded so far ends between two events.
    private var atEventBoundary = true
    /// When the armed timer fires, if one is armed.
    private var timerDeadline: Duration?
    /// The upstream's time bounds, with their own timer.
    private var bounds: UpstreamTimeBounds

    /// A policy for one request. `isStreamingRequest` is the request's `stream` flag (body or query); an
    /// `interval` of zero or less disables heartbeats, as config `heartbeatInterval: 0` asks.
    /// `bounds` limits the wait for the upstream (off by default, so a policy built for heartbeats alone has none).
    public init(interval: Duration, isStreamingRequest: Bool, bounds: UpstreamTimeBounds = UpstreamTimeBounds()) {
        self.interval = interval
        self.isStreamingRequest = isStreamingRequest
        self.isEnabled = isStreamingRequest && interval > .zero
        self.bounds = bounds
    }

    /// The request arrived (or the relay took it over `now` after its arrival): arms the first deadline, one
    /// interval after arrival, so a relay that starts late gets a deadline already past (fire at once). Call once,
    /// before anything else.
    public mutating func start(now: Duration) -> [HeartbeatAction] {
        guard !started else { return [] }
        started = true
        var actions: [HeartbeatAction] = []
        armIfNeeded(&actions)
        return actions
    }

    /// Bytes the relay wrote to the client other than the ones the policy asked for: loading-state messages.
    /// (Upstream body bytes are reported with ``upstreamBodyForwarded(byteCount:endsAtEventBoundary:now:)``.)
    public mutating func clientBytesSent(count: Int, now: Duration) -> [HeartbeatAction] {
        guard isActive, count > 0 else { return [] }
        lastClientByteAt = max(lastClientByteAt, now)
        var actions: [HeartbeatAction] = []
        armIfNeeded(&actions)
        return actions
    }

    /// Another writer of this relay (`sendLoadingState`) committed `200` + `text/event-stream` and will write whole
    /// events: from now on the proxy owns the head, as if a heartbeat had committed it.
    public mutating func loadingStateCommitted(now: Duration) -> [HeartbeatAction] {
        guard phase == .awaitingUpstreamHead else { return [] }
        commit(now: now)
        var actions: [HeartbeatAction] = []
        armIfNeeded(&actions)
        return actions
    }

    /// The relay sent the request to the upstream `now`: the `responseHeaderTimeout` bound starts.
    public mutating func upstreamRequestSent(now: Duration) -> [HeartbeatAction] {
        guard phase != .finished else { return [] }
        return bounds.requestSent(now: now)
    }

    /// The upstream's response head arrived (a final status, not `1xx`).
    public mutating func upstreamHeadArrived(status: Int, contentType: String?, now: Duration) -> [HeartbeatAction] {
        if stats.timeToUpstreamHead == nil { stats.timeToUpstreamHead = now }
        let boundActions = phase == .finished ? [] : bounds.headArrived(now: now)
        return boundActions + headArrived(status: status, contentType: contentType, now: now)
    }

    private mutating func headArrived(status: Int, contentType: String?, now: Duration) -> [HeartbeatAction] {
        let isSuccess = (200...299).contains(status)
        let isEventStream = CommittedStreamHead.isEventStream(contentType: contentType)
        switch phase {
        case .awaitingUpstreamHead:
            lastClientByteAt = max(lastClientByteAt, now)
            if isStreamingRequest && isSuccess && isEventStream {
                phase = .streaming
                return [.forwardUpstreamHead]
            }
            phase = .passingThrough
            return [.forwardUpstreamHead] + disarm()
        case .committedAwaitingUpstreamHead:
            if isSuccess && isEventStream {
                phase = .streaming
                return [.discardUpstreamHead]
            }
            if isSuccess {
                let error = OpenAIError(
                    message: "upstream answered \(status) with Content-Type '\(contentType ?? "none")' "
                        + "to a streaming request, not an event stream",
                    type: OpenAIError.type(forStatus: 502),
                    code: 502
                )
                return [.closeUpstream] + endWithInBandError(error)
            }
            phase = .collectingErrorBody(status: status)
            return [.collectUpstreamErrorBody(status: status)]
        case .collectingErrorBody, .streaming, .passingThrough, .finished:
            return []
        }
    }

    /// The relay forwarded `byteCount` bytes of the upstream's body to the client `now`, and its boundary tracker
    /// says whether the body so far `endsAtEventBoundary` and whether these bytes `carriesContent`: anything but SSE
    /// comment lines. Every byte restarts the heartbeat interval (the client heard something), but only content
    /// restarts `streamIdleTimeout`: a wedged llama-server keeps sending `:` pings while its slot produces nothing.
    public mutating func upstreamBodyForwarded(
        byteCount: Int,
        endsAtEventBoundary: Bool,
        carriesContent: Bool = true,
        now: Duration
    ) -> [HeartbeatAction] {
        var actions = byteCount > 0 && carriesContent ? bounds.bodyRead(now: now) : []
        guard phase == .streaming else { return actions }
        if byteCount > 0 { lastClientByteAt = max(lastClientByteAt, now) }
        atEventBoundary = endsAtEventBoundary
        armIfNeeded(&actions)
        return actions
    }

    /// The relay stopped (`paused`) or resumed reading the upstream `now` because the client's socket is full (or
    /// drained): the time bounds do not count a silence the client causes.
    public mutating func upstreamReadingPaused(_ paused: Bool, now: Duration) -> [HeartbeatAction] {
        bounds.readingPaused(paused, now: now)
        return []
    }

    /// The relay read (and collected, not forwarded) bytes of an upstream error body `now`: they count for the
    /// idle bound only.
    public mutating func upstreamErrorBodyRead(byteCount: Int, now: Duration) -> [HeartbeatAction] {
        guard byteCount > 0 else { return [] }
        return bounds.bodyRead(now: now)
    }

    /// The upstream's error body (after ``HeartbeatAction/collectUpstreamErrorBody(status:)``) is complete.
    public mutating func upstreamErrorBodyCollected(
        _ body: some Collection<UInt8>,
        now: Duration
    ) -> [HeartbeatAction] {
        guard case .collectingErrorBody(let status) = phase else { return [] }
        return endWithInBandError(OpenAIError(upstreamStatus: status, body: body))
    }

    /// The upstream's response ended normally.
    public mutating func upstreamEnded(now: Duration) -> [HeartbeatAction] {
        switch phase {
        case .streaming, .passingThrough:
            phase = .finished
            return disarm() + [.finish]
        case .collectingErrorBody:
            return upstreamErrorBodyCollected([], now: now)
        case .awaitingUpstreamHead, .committedAwaitingUpstreamHead:
            let error = OpenAIError(
                message: "upstream closed the connection without answering",
                type: OpenAIError.type(forStatus: 502),
                code: 502
            )
            return upstreamFailed(error, now: now)
        case .finished:
            return []
        }
    }

    /// The upstream failed: refused, reset, never healthy, failed to start (see ``UpstreamFailure``).
    public mutating func upstreamFailed(_ error: OpenAIError, now: Duration) -> [HeartbeatAction] {
        switch phase {
        case .awaitingUpstreamHead:
            phase = .finished
            return disarm() + [.passThroughError(error)]
        case .committedAwaitingUpstreamHead:
            return endWithInBandError(error)
        case .collectingErrorBody(let status):
            let message = "upstream answered HTTP \(status), then: \(error.message)"
            let type = OpenAIError.type(forStatus: status)
            return endWithInBandError(OpenAIError(message: message, type: type, code: status))
        case .streaming where proxyCommitted:
            return endWithInBandError(error)
        case .streaming where atEventBoundary:
            phase = .finished
            stats.inBandErrors += 1
            return disarm() + [.sendInBandError(error), .abortClient]
        case .streaming, .passingThrough:
            phase = .finished
            return disarm() + [.abortClient]
        case .finished:
            return []
        }
    }

    /// The client closed its connection: stop the timer and the upstream request at once; never write again.
    public mutating func clientClosed(now: Duration) -> [HeartbeatAction] {
        guard phase != .finished else { return [] }
        phase = .finished
        return disarm() + [.closeUpstream]
    }

    /// The timer armed by the last ``HeartbeatAction/scheduleBound(at:)`` fired: a time bound may have passed.
    /// The upstream is then closed first, so that nothing of it arrives while the client is told.
    public mutating func boundTimerFired(now: Duration) -> [HeartbeatAction] {
        guard phase != .finished else { return [] }
        var actions: [HeartbeatAction] = []
        guard let expiry = bounds.timerFired(now: now, actions: &actions) else { return actions }
        return [.closeUpstream] + upstreamFailed(expiry.openAIError, now: now)
    }

    /// The timer armed by the last ``HeartbeatAction/schedule(at:)`` fired.
    public mutating func timerFired(now: Duration) -> [HeartbeatAction] {
        timerDeadline = nil
        guard isHeartbeatPhase else { return [] }
        let due = lastClientByteAt + interval
        var actions: [HeartbeatAction] = []
        if now < due {
            armIfNeeded(&actions)  // bytes went out since the timer was armed: wait for the moved deadline
            return actions
        }
        if phase == .awaitingUpstreamHead {
            commit(now: now)
            actions.append(.commitHeadersAndHeartbeat)
            stats.heartbeatsSent += 1
            lastClientByteAt = now
        } else if atEventBoundary {
            actions.append(.sendHeartbeat)
            stats.heartbeatsSent += 1
            lastClientByteAt = now
        } else {
            actions.append(.withhold)
            stats.heartbeatsWithheld += 1
            arm(at: now + interval, &actions)
            return actions
        }
        armIfNeeded(&actions)
        return actions
    }

    // MARK: Helpers

    /// Still writing to the client.
    private var isActive: Bool { phase != .finished && phase != .passingThrough }

    /// A phase in which heartbeats may be due.
    private var isHeartbeatPhase: Bool {
        guard isEnabled, started else { return false }
        switch phase {
        case .awaitingUpstreamHead, .committedAwaitingUpstreamHead, .collectingErrorBody, .streaming: return true
        case .passingThrough, .finished: return false
        }
    }

    private mutating func commit(now: Duration) {
        phase = .committedAwaitingUpstreamHead
        proxyCommitted = true
        stats.committedAt = now
        lastClientByteAt = max(lastClientByteAt, now)
    }

    private mutating func armIfNeeded(_ actions: inout [HeartbeatAction]) {
        guard isHeartbeatPhase, timerDeadline == nil else { return }
        arm(at: lastClientByteAt + interval, &actions)
    }

    private mutating func arm(at deadline: Duration, _ actions: inout [HeartbeatAction]) {
        timerDeadline = deadline
        actions.append(.schedule(at: deadline))
    }

    /// Disarms both timers: called on every way to ``Phase/finished`` and to passing through.
    private mutating func disarm() -> [HeartbeatAction] {
        var actions: [HeartbeatAction] = []
        if timerDeadline != nil {
            timerDeadline = nil
            actions.append(.cancelTimer)
        }
        if phase == .finished { actions += bounds.stop() }
        return actions
    }

    private mutating func endWithInBandError(_ error: OpenAIError) -> [HeartbeatAction] {
        phase = .finished
        stats.inBandErrors += 1
        return disarm() + [.sendInBandError(error), .finish]
    }
}
