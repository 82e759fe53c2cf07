/// The one timeline model: what happened to one request over time, as marks on lanes, and the deadlines of client
/// profiles on the same axis. `harness replay --html` draws it (`TimelineReport`), and the proxy records it live for
/// its web UI (served as JSON, drawn by the page's script): two renderers, one model.
///
/// Times are offsets from the request's arrival (the proxy) or the client's first request (the harness).
public struct RequestTimeline: Sendable, Hashable {
    /// Where a mark is drawn.
    public enum Lane: String, Sendable, Hashable, CaseIterable {
        /// What the upstream wrote (or the proxy read from it): its head, body reads, its close.
        case upstream
        /// Bytes the client received (heartbeats apart), the response head included.
        case client
        /// Heartbeats the client received.
        case heartbeat
        /// Heartbeats due while the upstream was inside an SSE event, and so not written.
        case withheld
        /// The client's requests: arrival, forwarding, end, giving up.
        case request
        /// Errors: in-band error events, failures.
        case error
    }

    /// What a mark is, within its lane (renderers pick a shape by it).
    public enum Mark: String, Sendable, Hashable {
        /// Bytes written or read (`bytes` says how many).
        case bytes
        /// A response head.
        case head
        /// A connection's end.
        case close
        /// A request span, from `t` to `end`.
        case span
        /// A client giving up.
        case giveUp
        /// Anything else worth a label.
        case note
    }

    /// One mark.
    public struct Event: Sendable, Hashable {
        /// When, from the start.
        public var t: Duration
        public var lane: Lane
        public var mark: Mark
        /// Bytes, for byte marks.
        public var bytes: Int?
        /// What to show on hover (a preview of the bytes, a status, a reason).
        public var label: String
        /// For spans: when the span ends.
        public var end: Duration?

        public init(t: Duration, lane: Lane, mark: Mark = .bytes, bytes: Int? = nil, label: String, end: Duration? = nil) {
            self.t = t
            self.lane = lane
            self.mark = mark
            self.bytes = bytes
            self.label = label
            self.end = end
        }
    }

    /// A client profile's deadline: the one that fired (the client gave up), or the one pending at the end.
    public struct Deadline: Sendable, Hashable {
        /// The profile's name (`undici`, `nginx`, …).
        public var profile: String
        /// When, on the same axis.
        public var t: Duration
        /// Which of its timers.
        public var rule: TimeoutRule
        /// The client gave up at `t` (else the deadline was pending when watching stopped).
        public var fired: Bool

        public init(profile: String, t: Duration, rule: TimeoutRule, fired: Bool) {
            self.profile = profile
            self.t = t
            self.rule = rule
            self.fired = fired
        }

        /// `undici gives up (headers) at 300 s`, `next nginx deadline (read) at 60 s, not reached`.
        public var label: String {
            fired
                ? "\(profile) gives up (\(rule.rawValue)) at \(TimeText.seconds(t))"
                : "next \(profile) deadline (\(rule.rawValue)) at \(TimeText.seconds(t)), not reached"
        }
    }

    /// The marks, in the order they were recorded.
    public var events: [Event]
    /// Deadlines of client profiles.
    public var deadlines: [Deadline]

    public init(events: [Event] = [], deadlines: [Deadline] = []) {
        self.events = events
        self.deadlines = deadlines
    }

    /// The last moment anything happened (a fired deadline included).
    public var end: Duration {
        var end = Duration.zero
        for event in events { end = max(end, event.end ?? event.t) }
        for deadline in deadlines where deadline.fired { end = max(end, deadline.t) }
        return end
    }

    /// The marks on `lane`, in order.
    public func events(on lane: Lane) -> [Event] { events.filter { $0.lane == lane } }
}

/// The deadlines of client profiles on what a client received: when each would have given up, or the deadline it
/// was waiting for when watching stopped. The timers are `ClientTimeoutClock`'s, the ones `harness replay` applies
/// live, so the proxy's picture and the harness's verdicts cannot disagree. Fed read by read (the proxy feeds it as
/// it writes, so its bounded event list never loses a deadline), without allocating.
public struct ClientDeadlineWatch: Sendable, Hashable {
    private var clocks: [ClientTimeoutClock]
    private var fired: [ClientTimeoutClock.Deadline?]

    /// Watches `profiles` (already scaled) on a request sent at offset zero.
    public init(profiles: [ClientProfile]) {
        clocks = profiles.map(ClientTimeoutClock.init(profile:))
        fired = Array(repeating: nil, count: profiles.count)
    }

    /// The client received a read at `at` (offsets only grow).
    public mutating func received(at: Duration, completesHead: Bool, hasBody: Bool) {
        for index in clocks.indices where fired[index] == nil {
            if let deadline = clocks[index].nextDeadline, deadline.at < at {
                fired[index] = deadline
                continue
            }
            clocks[index].received(at: at, completesHead: completesHead, hasBody: hasBody)
        }
    }

    /// Each profile's deadline as seen at `now`: the one that fired (before `now`), else the pending one; a profile
    /// with no timer running has none.
    public func deadlines(at now: Duration) -> [RequestTimeline.Deadline] {
        clocks.indices.compactMap { index in
            let name = clocks[index].profile.name
            if let deadline = fired[index] {
                return RequestTimeline.Deadline(profile: name, t: deadline.at, rule: deadline.rule, fired: true)
            }
            guard let next = clocks[index].nextDeadline else { return nil }
            return RequestTimeline.Deadline(profile: name, t: next.at, rule: next.rule, fired: next.at < now)
        }
    }
}

/// ``ClientDeadlineWatch`` over a whole recorded attempt.
public enum ClientDeadlines {
    /// One deadline per profile for `attempt`, watched until its end.
    public static func of(_ profiles: [ClientProfile], on attempt: AttemptTimeline) -> [RequestTimeline.Deadline] {
        var watch = ClientDeadlineWatch(profiles: profiles)
        for read in attempt.reads {
            watch.received(at: read.at, completesHead: read.completesHead, hasBody: read.hasBody)
        }
        let end: Duration = switch attempt.end {
            case .complete(let at), .closed(let at, _), .observedUntil(let at): at
        }
        return watch.deadlines(at: end)
    }
}
