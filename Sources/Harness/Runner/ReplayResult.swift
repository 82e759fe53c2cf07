import FakeUpstream

/// The outcome of replaying one scenario: the verdict, each expectation with expected vs actual, the client's
/// outcome and numbers, and the full timeline.
public struct ReplayResult: Sendable {
    /// The overall verdict.
    public enum Verdict: String, Sendable, Hashable {
        /// Every checked expectation held.
        case pass
        /// At least one expectation failed.
        case fail
        /// The file has no expectations (or none could be checked): the run only reports.
        case unchecked
    }

    /// The scenario's name (file stem).
    public var scenario: String
    /// Its file, if any.
    public var file: String?
    /// Its one-line description.
    public var description: String
    /// The time scale the run used.
    public var timeScale: Double
    /// `direct` or `proxied`.
    public var topology: String
    /// The client profile applied, scaled.
    public var profile: ClientProfile
    /// The heartbeat comment the client counted.
    public var heartbeatComment: String
    /// How the client's exchange ended.
    public var outcome: ClientOutcome
    /// Requests sent, retries included.
    public var attempts: Int
    /// Status of the last response head, if any.
    public var status: Int?
    /// Longest silence the client saw.
    public var maxGap: Duration
    /// Heartbeats the client received.
    public var heartbeats: Int
    /// Bytes the client received, all attempts.
    public var bytesReceived: Int
    /// One result per expectation.
    public var expectations: [ExpectationResult]
    /// Everything on one time axis.
    public var timeline: ReplayTimeline
    /// The facts the expectations were checked against.
    public var facts: ReplayFacts
    /// Each attempt as the client saw it, for `ProfileEvaluator` (what other profiles would have done).
    public var attemptTimelines: [AttemptTimeline]

    /// `fail` if any expectation failed, `pass` if some passed, `unchecked` otherwise.
    public var verdict: Verdict {
        if expectations.contains(where: \.failed) { return .fail }
        return expectations.contains { $0.status == .passed } ? .pass : .unchecked
    }

    /// One line: verdict, scenario, client outcome, max gap, heartbeats, bytes.
    public var verdictLine: String {
        let label = switch verdict {
            case .pass: "PASS"
            case .fail: "FAIL"
            case .unchecked: "----"
        }
        let skipped = expectations.filter { if case .skipped = $0.status { true } else { false } }.count
        var line = "\(label) \(scenario) [\(profile.name), \(topology)]: client \(outcome)"
        if attempts > 1 { line += " after \(attempts) attempts" }
        line += "; max gap \(TimeText.seconds(maxGap)); \(heartbeats) heartbeats; \(bytesReceived) bytes"
        if skipped > 0 { line += "; \(skipped) skipped (need the proxy)" }
        return line
    }

    /// The expectations and the timeline as text, for failures.
    public var details: String {
        var lines = expectations.map { "  " + $0.line }
        lines.append("  timeline (s since the first request):")
        lines += TimelineText.lines(timeline).map { "    " + $0 }
        return lines.joined(separator: "\n")
    }
}
