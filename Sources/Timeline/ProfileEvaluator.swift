/// What one attempt looked like from the client: its reads and how it ended. Times are offsets from sending the
/// request.
public struct AttemptTimeline: Sendable, Hashable {
    /// One read from the socket.
    public struct Read: Sendable, Hashable {
        /// When it arrived.
        public var at: Duration
        /// How many bytes it carried.
        public var byteCount: Int
        /// Whether the response head became complete with it.
        public var completesHead: Bool
        /// Whether it carried body bytes.
        public var hasBody: Bool

        /// A read.
        public init(at: Duration, byteCount: Int, completesHead: Bool = false, hasBody: Bool = false) {
            self.at = at
            self.byteCount = byteCount
            self.completesHead = completesHead
            self.hasBody = hasBody
        }
    }

    /// How the attempt ended, as observed.
    public enum End: Sendable, Hashable {
        /// The response was complete.
        case complete(at: Duration)
        /// The connection ended (reset, or closed) before the response was complete.
        case closed(at: Duration, reason: String)
        /// The observer stopped watching, with the response still open.
        case observedUntil(Duration)
    }

    /// The reads, in order.
    public var reads: [Read]
    /// How it ended.
    public var end: End

    /// A timeline.
    public init(reads: [Read], end: End) {
        self.reads = reads
        self.end = end
    }
}

/// How a client's exchange ended.
public enum ClientOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The whole response arrived at this offset from the first request.
    case completed(at: Duration)
    /// The client gave up at this offset (after its retries), by this rule.
    case timedOut(at: Duration, rule: TimeoutRule)
    /// The connection ended before the response was complete.
    case failed(at: Duration, reason: String)
    /// Still open when watching stopped (no timer would have fired by then).
    case undecided(at: Duration)

    /// The scenario-file word for this outcome (`completes`, `times-out`, `fails`), `nil` when undecided.
    public var kind: String {
        switch self {
        case .completed: "completes"
        case .timedOut: "times-out"
        case .failed: "fails"
        case .undecided: "undecided"
        }
    }

    /// When it happened.
    public var at: Duration {
        switch self {
        case .completed(let at), .timedOut(let at, _), .failed(let at, _), .undecided(let at): at
        }
    }

    /// `times out at 3.00 s (headers)`, for verdict lines.
    public var description: String {
        switch self {
        case .completed(let at): "completes at \(TimeText.seconds(at))"
        case .timedOut(let at, let rule): "times out at \(TimeText.seconds(at)) (\(rule.rawValue))"
        case .failed(let at, let reason): "fails at \(TimeText.seconds(at)) (\(reason))"
        case .undecided(let at): "still waiting at \(TimeText.seconds(at))"
        }
    }
}

/// A profile's verdict on a timeline.
public struct ProfileVerdict: Sendable, Hashable {
    /// How the exchange ends.
    public var outcome: ClientOutcome
    /// Requests sent, retries included.
    public var attempts: Int

    public init(outcome: ClientOutcome, attempts: Int) {
        self.outcome = outcome
        self.attempts = attempts
    }
}

/// Applies a client profile to a recorded attempt: when the client would give up, and by which rule, or that it
/// completes. Pure; the same timers as the live client (`ClientTimeoutClock`).
public enum ProfileEvaluator {
    /// The verdict of `profile` (already scaled) on `timeline`. A timed-out attempt is retried as the profile
    /// says, assuming each retry sees the same timeline (the scenario answers every request alike), so the give-up
    /// time adds every attempt and the delays between them.
    public static func evaluate(_ profile: ClientProfile, on timeline: AttemptTimeline) -> ProfileVerdict {
        let single = evaluateOnce(profile, on: timeline)
        guard case .timedOut(let at, let rule) = single, profile.retries > 0 else {
            return ProfileVerdict(outcome: single, attempts: 1)
        }
        var total = at
        for retry in 1...profile.retries { total += profile.delay(beforeRetry: retry) + at }
        return ProfileVerdict(outcome: .timedOut(at: total, rule: rule), attempts: profile.retries + 1)
    }

    /// One attempt, no retries.
    public static func evaluateOnce(_ profile: ClientProfile, on timeline: AttemptTimeline) -> ClientOutcome {
        var clock = ClientTimeoutClock(profile: profile)
        for read in timeline.reads {
            if let deadline = clock.nextDeadline, deadline.at < read.at {
                return .timedOut(at: deadline.at, rule: deadline.rule)
            }
            clock.received(at: read.at, completesHead: read.completesHead, hasBody: read.hasBody)
        }
        let endAt: Duration = switch timeline.end {
            case .complete(let at), .closed(let at, _), .observedUntil(let at): at
        }
        if let deadline = clock.nextDeadline, deadline.at < endAt {
            return .timedOut(at: deadline.at, rule: deadline.rule)
        }
        switch timeline.end {
        case .complete(let at): return .completed(at: at)
        case .closed(let at, let reason): return .failed(at: at, reason: reason)
        case .observedUntil(let at):
            if let deadline = clock.nextDeadline, deadline.at == at { return .timedOut(at: at, rule: deadline.rule) }
            return .undecided(at: at)
        }
    }
}
