import FakeUpstream

/// How long a replay may take at most, in scenario time: every replay ends, even when nothing in the scenario
/// ends it (an `end: hang` kept alive by heartbeats, a gate nobody opens).
///
/// The bound outlasts everything that could legitimately end the run: the longest scripted response (waits,
/// split gaps, token streams), the health script's scripted states, the proxy's own time limits, every attempt
/// of the client profile with its longest timer, the gate openings, and a margin. A client still waiting then is
/// stopped and the run fails: nothing ended the exchange. Pure, so the arithmetic is tested directly.
public enum RunBound {
    /// Added to the estimate: time for the last events to arrive and the ends to propagate (scenario time).
    public static let margin: Duration = .seconds(30)
    /// Added to the scaled bound, in real time: work that does not scale with the run (10,000 events or a
    /// megabyte through the proxy on a busy machine) must not count as a client left waiting.
    public static let realMargin: Duration = .seconds(10)

    /// The bound in real time for a run at `scale`.
    public static func realTime(
        _ scenario: Scenario, spec: ScenarioSpec, profile: ClientProfile, scale: Double,
        realMargin: Duration = RunBound.realMargin
    ) -> Duration {
        scenarioTime(scenario, spec: spec, profile: profile).scaled(by: scale) + realMargin
    }

    /// The bound for `scenario` run with `spec` (one run's, flattened) and `profile` (unscaled).
    public static func scenarioTime(_ scenario: Scenario, spec: ScenarioSpec, profile: ClientProfile) -> Duration {
        let script = scenario.rules.flatMap(\.responses).map { scriptedLength($0.steps) }.max() ?? .zero
        let health = scenario.health.states.compactMap(\.duration).reduce(Duration.zero, +)
        let proxy = spec.proxy
        let proxyLimits = [proxy?.responseHeaderTimeout, proxy?.streamIdleTimeout, proxy?.healthCheckTimeout]
            .compactMap { $0 }.reduce(Duration.zero, +)
        let attempts = Double(profile.retries + 1)
        let client = (profile.longestTimer ?? .zero) * attempts
            + (0..<(profile.retries + 1)).map { profile.delay(beforeRetry: $0) }.reduce(Duration.zero, +)
        let gates = spec.openGates.map(\.after).max() ?? .zero
        return max(script + health + proxyLimits, client, gates + script) + margin
    }

    /// The scripted length of one response: waits, split gaps and token streams added up. A hang adds nothing
    /// (something else must end it); a gate adds nothing (its opening time is counted separately).
    public static func scriptedLength(_ steps: [Step]) -> Duration {
        var total = Duration.zero
        for step in steps {
            switch step {
            case .wait(let duration): total += duration
            case .split(let split): total += split.gaps.reduce(Duration.zero, +)
            case .tokens(let tokens):
                total += tokens.firstTokenAfter + .seconds(Double(tokens.count) / tokens.perSecond * (1 + tokens.jitter))
            case .head, .write, .event, .gate, .end: break
            }
        }
        return total
    }
}
