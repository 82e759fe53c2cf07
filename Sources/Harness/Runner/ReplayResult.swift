import FakeUpstream

/// The outcome of replaying one scenario: the verdict, each expectation with expected vs actual, the client's
/// outcome and numbers, and the full timeline.
public struct ReplayResult: Sendable {
    /// The overall verdict. There is no third state: a run that checked nothing proves nothing, so it fails.
    public enum Verdict: String, Sendable, Hashable {
        /// The run ended, every expectation was checked and held.
        case pass
        /// An expectation failed or could not be checked, nothing was checked, the client was still waiting at
        /// the run's bound, or a response was left blocked at a gate: `problems` says which.
        case fail
    }

    /// The scenario's name (file stem), with `/run` for the runs of `runs:`.
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

    /// Whether the run checked nothing: no expectation given, or none could be checked. A failure.
    public var isUnchecked: Bool { !expectations.contains { $0.status == .passed || $0.status == .failed } }

    /// Why the run fails apart from its expectations: it checked nothing, skipped some, a response stayed blocked
    /// at a gate, or the client was still waiting when the run's bound passed (the proxy never ended it).
    public var problems: [String] {
        var problems: [String] = []
        if let gate = facts.blockedGate { problems.append("blocked at gate \(gate)") }
        if case .undecided(let at) = outcome {
            problems.append(
                "the client was still waiting at \(TimeText.seconds(at)), the run's bound: nothing ended the "
                    + "exchange (a proxy that keeps a client waiting forever fails it)")
        }
        let skipped = expectations.filter { if case .skipped = $0.status { true } else { false } }.count
        if isUnchecked {
            problems.append(expectations.isEmpty ? "nothing checked: the run has no expectations" : "nothing checked")
        } else if skipped > 0 {
            problems.append("\(skipped) expectations not checked (they need the proxy)")
        }
        return problems
    }

    /// `fail` if any expectation failed or there is a problem (`problems`), `pass` otherwise.
    public var verdict: Verdict {
        expectations.contains(where: \.failed) || !problems.isEmpty ? .fail : .pass
    }

    /// One line: verdict, scenario, what went wrong, client outcome, max gap, heartbeats, bytes, time scale.
    public var verdictLine: String {
        let label = verdict == .pass ? "PASS" : "FAIL"
        var line = "\(label) \(scenario) [\(profile.name), \(topology), scale \(timeScale)]: "
        for problem in problems { line += problem + "; " }
        let failed = expectations.filter(\.failed).map(\.key)
        if !failed.isEmpty { line += "expectations failed: \(failed.joined(separator: ", ")); " }
        line += "client \(outcome)"
        if attempts > 1 { line += " after \(attempts) attempts" }
        line += "; max gap \(TimeText.seconds(maxGap)); \(heartbeats) heartbeats; \(bytesReceived) bytes"
        return line
    }

    /// The expectations and the timeline as text, for failures.
    public var details: String {
        var lines = (file.map { ["  file: \($0)"] } ?? []) + expectations.map { "  " + $0.line }
        lines.append("  timeline (s since the first request):")
        lines += TimelineText.lines(timeline).map { "    " + $0 }
        return lines.joined(separator: "\n")
    }
}
