import DurationMath
import Wire

/// The two limits on how long one request waits for its upstream, as a pure state machine over time since the
/// request arrived: ``HeartbeatPolicy`` owns one and turns an expiry into what the client sees.
///
/// Why they exist: heartbeats keep a client waiting for as long as the upstream is silent, so a wedged slot (health
/// `200`, the request never answered) would hold every client forever. The bounds are generous (default 30 min,
/// longer than the longest prefill users run) so that they only ever catch a wedged upstream:
/// - `responseHeaderTimeout`: from sending the request to the upstream until its response head.
/// - `streamIdleTimeout`: once the head arrived, the longest time without content from the upstream's body (the
///   relay reports a read as ``bodyRead(now:)`` only when it carries more than SSE comment lines). llama-server
///   b9478 and later ping silent streams with `:` comments from its HTTP thread, also while a wedged slot produces
///   nothing, so counting pings would let a wedged upstream hold a client forever; a 30-minute bound still lets
///   the longest pinged prefill through.
///
/// Neither bound runs while the relay itself stopped reading the upstream because the client is slow to read
/// (backpressure): that silence is the client's, not the upstream's. When reading resumes, the bound in force
/// starts again from that moment.
///
/// The timer is lazy, like the heartbeat timer: a body read only moves the deadline; an armed timer that fires before
/// the moved deadline re-arms itself. A token stream thus costs one wake-up per bound, not one per read.
public struct UpstreamTimeBounds: Sendable, Hashable {
    /// Which bound passed.
    public enum Bound: String, Sendable, Hashable {
        case responseHeader = "responseHeaderTimeout"
        case streamIdle = "streamIdleTimeout"
    }

    /// A bound that passed, with its configured limit (for the error message).
    public struct Expiry: Sendable, Hashable {
        public var bound: Bound
        public var limit: Duration

        public init(bound: Bound, limit: Duration) {
            self.bound = bound
            self.limit = limit
        }

        /// The error the client gets: `504`, `timeout_error`, naming the bound as configured.
        public var openAIError: OpenAIError {
            let milliseconds = limit.nanoseconds / 1_000_000
            let message =
                switch bound {
                case .responseHeader:
                    "upstream sent no response head within \(milliseconds) ms (responseHeaderTimeout)"
                case .streamIdle:
                    "upstream sent nothing for \(milliseconds) ms (streamIdleTimeout)"
                }
            return OpenAIError(message: message, type: OpenAIError.type(forStatus: 504), code: 504)
        }
    }

    private enum Stage: Sendable, Hashable {
        /// The request has not been sent to an upstream yet (queue, load): no bound applies; heartbeats cover it.
        case notSent
        /// Sent at this time; waiting for the head.
        case awaitingHead(sentAt: Duration)
        /// Head arrived; the last body read (or the head) was at this time.
        case readingBody(lastReadAt: Duration)
        /// Ended, expired, or the client left: nothing more to bound.
        case over
    }

    /// `nil`: that bound is off.
    public let responseHeaderTimeout: Duration?
    public let streamIdleTimeout: Duration?
    private var stage = Stage.notSent
    /// The relay is not reading the upstream (the client's socket is full).
    private var readingPaused = false
    /// When the armed timer fires, if one is armed.
    public private(set) var timerDeadline: Duration?

    /// Bounds for one request; `nil` or a value of zero or less turns a bound off.
    public init(responseHeaderTimeout: Duration? = nil, streamIdleTimeout: Duration? = nil) {
        self.responseHeaderTimeout = responseHeaderTimeout.flatMap { $0 > .zero ? $0 : nil }
        self.streamIdleTimeout = streamIdleTimeout.flatMap { $0 > .zero ? $0 : nil }
    }

    /// The deadline of the bound in force, or `nil` if none is.
    private var deadline: Duration? {
        switch stage {
        case .awaitingHead(let sentAt): responseHeaderTimeout.map { sentAt + $0 }
        case .readingBody(let lastReadAt): streamIdleTimeout.map { lastReadAt + $0 }
        case .notSent, .over: nil
        }
    }

    /// The request went to the upstream `now`: the header bound starts.
    public mutating func requestSent(now: Duration) -> [HeartbeatAction] {
        guard stage == .notSent else { return [] }
        stage = .awaitingHead(sentAt: now)
        return rearm()
    }

    /// The upstream's head arrived `now`: the header bound is met and the idle bound starts. An armed timer due
    /// no later than the idle deadline stays (it re-arms when it fires early): with the default bounds (30 min each)
    /// every request would otherwise cancel one timer and schedule another here.
    public mutating func headArrived(now: Duration) -> [HeartbeatAction] {
        switch stage {
        case .notSent, .awaitingHead: stage = .readingBody(lastReadAt: now)
        case .readingBody, .over: return []
        }
        if let armed = timerDeadline, let wanted = deadline, armed <= wanted { return [] }
        return rearm()
    }

    /// The upstream's body was read `now`. Moves the idle deadline without touching an armed timer (it re-arms
    /// when it fires early), so reads cost no timer actions.
    public mutating func bodyRead(now: Duration) -> [HeartbeatAction] {
        guard case .readingBody(let last) = stage else { return [] }
        stage = .readingBody(lastReadAt: max(last, now))
        guard timerDeadline == nil else { return [] }
        return rearm()
    }

    /// The relay stopped (`paused`) or resumed reading the upstream `now`, for backpressure from a slow client.
    /// Resuming restarts the bound in force from `now`; the armed timer re-arms itself when it fires.
    public mutating func readingPaused(_ paused: Bool, now: Duration) {
        guard paused != readingPaused else { return }
        readingPaused = paused
        if !paused { restart(at: now) }
    }

    /// The bound timer fired `now`: either a bound passed (returned), or the timer is re-armed for the moved
    /// deadline (`actions`).
    public mutating func timerFired(now: Duration, actions: inout [HeartbeatAction]) -> Expiry? {
        timerDeadline = nil
        guard let deadline else { return nil }
        if readingPaused {
            restart(at: now)  // the client's silence, not the upstream's: look again one bound later
            actions += rearm()
            return nil
        }
        if now < deadline {
            actions += rearm()
            return nil
        }
        let expiry: Expiry
        switch stage {
        case .awaitingHead: expiry = Expiry(bound: .responseHeader, limit: responseHeaderTimeout!)
        default: expiry = Expiry(bound: .streamIdle, limit: streamIdleTimeout!)
        }
        stage = .over
        return expiry
    }

    /// Nothing more to bound (the response ended, failed, or the client left).
    public mutating func stop() -> [HeartbeatAction] {
        stage = .over
        guard timerDeadline != nil else { return [] }
        timerDeadline = nil
        return [.cancelBoundTimer]
    }

    /// The bound in force counts from `now`.
    private mutating func restart(at now: Duration) {
        switch stage {
        case .awaitingHead(let sentAt): stage = .awaitingHead(sentAt: max(sentAt, now))
        case .readingBody(let lastReadAt): stage = .readingBody(lastReadAt: max(lastReadAt, now))
        case .notSent, .over: break
        }
    }

    /// Arms the timer for the bound in force, or cancels an armed one when none is.
    private mutating func rearm() -> [HeartbeatAction] {
        let wasArmed = timerDeadline != nil
        timerDeadline = deadline
        if let timerDeadline { return [.scheduleBound(at: timerDeadline)] }
        return wasArmed ? [.cancelBoundTimer] : []
    }
}
