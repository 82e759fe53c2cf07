/// The timers of one attempt under a `ClientProfile`, as a value fed with read events: it answers when the
/// client would give up next, and by which rule. The live client and `ProfileEvaluator` share it, so what the
/// runner does and what the evaluator predicts cannot disagree.
///
/// Times are offsets from the moment the request was sent.
public struct ClientTimeoutClock: Sendable, Hashable {
    /// The profile whose timers run (already scaled).
    public let profile: ClientProfile
    /// The last read, or zero (the request's send) before any.
    public private(set) var lastRead: Duration = .zero
    /// When the first response byte arrived.
    public private(set) var firstByteAt: Duration?
    /// When the response head was complete.
    public private(set) var headCompleteAt: Duration?
    /// The last read that carried body bytes.
    public private(set) var lastBodyRead: Duration?

    /// A deadline and the rule that sets it.
    public struct Deadline: Sendable, Hashable {
        /// Offset from sending the request.
        public var at: Duration
        /// The timer that fires then.
        public var rule: TimeoutRule

        public init(at: Duration, rule: TimeoutRule) {
            self.at = at
            self.rule = rule
        }
    }

    /// The timers of a request sent at offset zero.
    public init(profile: ClientProfile) {
        self.profile = profile
    }

    /// A read at `at`: whether it completed the head, and whether it carried body bytes.
    public mutating func received(at: Duration, completesHead: Bool, hasBody: Bool) {
        lastRead = at
        if firstByteAt == nil { firstByteAt = at }
        if completesHead && headCompleteAt == nil { headCompleteAt = at }
        if hasBody { lastBodyRead = at }
    }

    /// The earliest timer still running; `nil` when none is (the client would wait forever). Ties go to the rule
    /// listed first in `TimeoutRule`.
    public var nextDeadline: Deadline? {
        var candidates: [Deadline] = []
        if headCompleteAt == nil, let timeout = profile.headersTimeout {
            candidates.append(Deadline(at: timeout, rule: .headers))
        }
        if firstByteAt == nil, let timeout = profile.firstByteTimeout {
            candidates.append(Deadline(at: timeout, rule: .firstByte))
        }
        if let timeout = profile.readTimeout {
            candidates.append(Deadline(at: lastRead + timeout, rule: .read))
        }
        if let head = headCompleteAt, let timeout = profile.bodyTimeout {
            candidates.append(Deadline(at: (lastBodyRead ?? head) + timeout, rule: .body))
        }
        if let timeout = profile.totalTimeout {
            candidates.append(Deadline(at: timeout, rule: .total))
        }
        return candidates.min { $0.at < $1.at }
    }
}
