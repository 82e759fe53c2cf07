import NIOCore

/// The client-side timeouts of one connection, as a pure state machine over the event loop's clock: events in
/// (bytes, request parts, response start and end, the timer), timer actions and expiries out.
///
/// Three bounds, each only while the proxy waits for the CLIENT and no response is under way — a response in
/// progress (a heartbeat-kept stream can last hours) or a request waiting for its response stops every one of them:
/// - idle: from the end of the last response (or the connection's start) to the first byte of the next request.
///   Expiry closes quietly: there is no request to answer, and an unasked-for `408` on a pooled connection could be
///   read as the answer to the request the client is just sending.
/// - header: from the first byte of a request to the end of its head; a slowloris client sending a header byte a
///   second meets it however steadily it trickles. Expiry answers `408` and closes.
/// - body: the longest silence while a request body arrives. Expiry answers `408` and closes.
///
/// Time spent answering earlier requests does not count against a request the client pipelined meanwhile: when a
/// response ends, the clocks of a partly received request restart no earlier than that.
///
/// Bytes that arrive in the same read as the end of a request (a pipelined request's start) are seen as one event
/// before that end; the next request then runs on the idle clock until its next read, so a slow head can last up to
/// one idle period plus one header period. Bounded either way.
struct ClientTimeouts {
    enum Kind: Equatable, Sendable, CustomStringConvertible {
        case idle, header, body

        var description: String {
            switch self {
            case .idle: "clientIdleTimeout"
            case .header: "clientHeaderTimeout"
            case .body: "clientBodyTimeout"
            }
        }
    }

    /// The deadline in force: which bound, and when it passes.
    struct Deadline: Equatable, Sendable {
        var kind: Kind
        var at: NIODeadline
    }

    /// What the handler does with its one timer after an event.
    enum TimerAction: Equatable, Sendable {
        /// Nothing changed.
        case none
        /// Cancel any scheduled timer and schedule one for this deadline.
        case arm(Deadline)
        /// Cancel the scheduled timer: no bound applies now.
        case cancel
    }

    /// What the handler does when a bound passed.
    enum Expiry: Equatable, Sendable {
        /// No request in progress: close without an answer.
        case closeQuietly
        /// A request is partly received and nothing was answered: `408`, then close.
        case answerRequestTimeout(Kind, Duration)
    }

    private enum Inbound: Equatable {
        case betweenRequests(since: NIODeadline)
        case head(firstByte: NIODeadline)
        case body(lastByte: NIODeadline)
    }

    private let idle: Duration?
    private let header: Duration?
    private let body: Duration?
    private var inbound: Inbound
    /// Requests received whole whose response has not ended yet (pipelined requests count one each).
    private var unanswered = 0
    /// A response head was written and its end was not.
    private var responding = false
    /// A bound passed: the connection is going away and no bound applies any more.
    private var expired = false
    /// The deadline the handler's timer is set for.
    private(set) var armed: Deadline?

    init(idle: Duration?, header: Duration?, body: Duration?, now: NIODeadline) {
        self.idle = idle
        self.header = header
        self.body = body
        self.inbound = .betweenRequests(since: now)
    }

    init(limits: ClientLimits, now: NIODeadline) {
        self.init(idle: limits.idleTimeout, header: limits.headerTimeout, body: limits.bodyTimeout, now: now)
    }

    /// The deadline that applies now, if any.
    var deadline: Deadline? {
        guard !expired, unanswered == 0, !responding else { return nil }
        switch inbound {
        case .betweenRequests(let since): return idle.map { Deadline(kind: .idle, at: since + .init($0)) }
        case .head(let firstByte): return header.map { Deadline(kind: .header, at: firstByte + .init($0)) }
        case .body(let lastByte): return body.map { Deadline(kind: .body, at: lastByte + .init($0)) }
        }
    }

    /// The start of the connection: arms the idle bound.
    mutating func start() -> TimerAction { rearm() }

    /// Bytes arrived from the client (before the decoder saw them).
    mutating func bytesReceived(now: NIODeadline) -> TimerAction {
        switch inbound {
        case .betweenRequests: inbound = .head(firstByte: now)
        case .head: break
        case .body: inbound = .body(lastByte: now)
        }
        return rearm()
    }

    /// A request head was decoded: the body (or its end) comes next.
    mutating func requestHeadReceived(now: NIODeadline) -> TimerAction {
        inbound = .body(lastByte: now)
        return rearm()
    }

    /// A piece of request body was decoded.
    mutating func requestBodyReceived(now: NIODeadline) -> TimerAction {
        if case .body = inbound { inbound = .body(lastByte: now) }
        return rearm()
    }

    /// A request is complete: it now waits for its response, and no bound applies until that ends.
    mutating func requestEndReceived(now: NIODeadline) -> TimerAction {
        inbound = .betweenRequests(since: now)
        unanswered += 1
        return rearm()
    }

    /// A response head was written.
    mutating func responseStarted() -> TimerAction {
        responding = true
        return rearm()
    }

    /// A response ended: the bounds apply again (from now at the earliest) if no other request waits.
    mutating func responseEnded(now: NIODeadline) -> TimerAction {
        responding = false
        unanswered = max(0, unanswered - 1)
        switch inbound {
        case .betweenRequests(let since): inbound = .betweenRequests(since: max(since, now))
        case .head(let firstByte): inbound = .head(firstByte: max(firstByte, now))
        case .body(let lastByte): inbound = .body(lastByte: max(lastByte, now))
        }
        return rearm()
    }

    /// The timer fired at `now`: the expiry, if the deadline in force has passed. A timer that fired early (the
    /// handler leaves its callback in place when a deadline moves later or goes away) returns nil; ``resync()`` then
    /// arms the deadline in force.
    mutating func timerFired(now: NIODeadline) -> Expiry? {
        armed = nil
        guard let deadline, now >= deadline.at else { return nil }
        expired = true
        switch deadline.kind {
        case .idle: return .closeQuietly
        case .header: return .answerRequestTimeout(.header, header ?? .zero)
        case .body: return .answerRequestTimeout(.body, body ?? .zero)
        }
    }

    /// Arms the deadline in force (after a timer fired without an expiry).
    mutating func resync() -> TimerAction { rearm() }

    private mutating func rearm() -> TimerAction {
        let wanted = deadline
        guard wanted != armed else { return .none }
        armed = wanted
        return wanted.map { .arm($0) } ?? .cancel
    }
}
