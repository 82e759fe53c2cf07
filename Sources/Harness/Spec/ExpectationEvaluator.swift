import DurationMath
import FakeUpstream

/// Checks a scenario's `expect:` against what a run established. Pure: tests feed it facts directly.
///
/// Durations in the file are scenario time; they are scaled by the run's time scale. Tolerances are scaled too,
/// and `slack` (real time, for a loaded machine) is added to timing checks, but never more than a quarter of the
/// scaled bound it widens (`slack(for:)`): a bound loose enough to pass with the behaviour it exists to catch
/// would be no check at all. Each result prints the bound it used.
public struct ExpectationEvaluator: Sendable {
    /// The run's time scale.
    public var timeScale: Double
    /// Real time added to timing checks, at most a quarter of each scaled bound.
    public var slack: Duration
    /// Whether the client went through the proxy.
    public var proxied: Bool
    /// The proxy settings of the run; with heartbeats or loading messages on, expectations about what the client
    /// sees can only be checked through the proxy.
    public var proxySettings: ProxySettingsSpec?

    /// An evaluator for one run.
    public init(timeScale: Double, slack: Duration, proxied: Bool, proxySettings: ProxySettingsSpec?) {
        self.timeScale = timeScale
        self.slack = slack
        self.proxied = proxied
        self.proxySettings = proxySettings
    }

    /// The slack added to a scaled bound: the run's slack, capped at a quarter of the bound.
    public func slack(for bound: Duration) -> Duration {
        min(slack, bound / 4)
    }

    /// One result per expectation given, in the order of `ScenarioParser.Keys.expect`.
    public func evaluate(_ expect: Expectations, facts: ReplayFacts) -> [ExpectationResult] {
        var results: [ExpectationResult] = []
        let needsProxy = !proxied && (proxySettings?.addsBytes ?? false)
        let proxyNote = "needs the proxy (the scenario turns on heartbeats or loading messages); this run was direct"
        func add(_ key: String, expected: String, actual: String, passes: Bool, clientSide: Bool = true) {
            let status: ExpectationResult.Status =
                clientSide && needsProxy ? .skipped(proxyNote) : (passes ? .passed : .failed)
            results.append(ExpectationResult(key: key, expected: expected, actual: actual, status: status))
        }
        func seconds(_ duration: Duration) -> String { TimeText.seconds(duration) }

        if let client = expect.client {
            add("client", expected: client.rawValue, actual: facts.outcome.description,
                passes: facts.outcome.kind == client.rawValue)
        }
        if let at = expect.at {
            let target = at.scaled(by: timeScale)
            let tolerance = (expect.tolerance ?? .zero).scaled(by: timeScale)
            let slack = slack(for: target)
            let (low, high) = (target - tolerance - slack, target + tolerance + slack)
            let actual = facts.outcome.at
            add("at",
                expected: "\(seconds(target)) ± \(seconds(tolerance)) tolerance ± \(seconds(slack)) slack "
                    + "= \(seconds(low))…\(seconds(high))",
                actual: seconds(actual), passes: actual >= low && actual <= high)
        }
        if let status = expect.status {
            add("status", expected: "\(status)", actual: facts.status.map(String.init) ?? "no response head",
                passes: facts.status == status)
        }
        if let gaps = expect.gaps {
            let tolerance = (gaps.tolerance ?? .zero).scaled(by: timeScale)
            if let max = gaps.max {
                let limit = max.scaled(by: timeScale)
                let bound = limit + tolerance + slack(for: limit)
                add("gaps.max",
                    expected: "no silence over \(seconds(limit)) + \(seconds(tolerance)) tolerance + "
                        + "\(seconds(slack(for: limit))) slack = \(seconds(bound))",
                    actual: "longest silence \(seconds(facts.maxGap))", passes: facts.maxGap <= bound)
            }
            if let min = gaps.min {
                let limit = min.scaled(by: timeScale)
                let bound = limit - tolerance - slack(for: limit)
                let shortest = facts.heartbeatGaps.min()
                // A bound on heartbeats holds only if there were heartbeats: none at all is the failure of a
                // heartbeat that never fires, not a pass.
                add("gaps.min",
                    expected: "at least one heartbeat, each after a silence of at least \(seconds(limit)) - "
                        + "\(seconds(tolerance)) tolerance - \(seconds(slack(for: limit))) slack = \(seconds(bound))",
                    actual: shortest.map { "shortest \(seconds($0)) before a heartbeat" } ?? "no heartbeat",
                    passes: shortest.map { $0 >= bound } ?? false)
            }
        }
        if let heartbeats = expect.heartbeats {
            add("heartbeats", expected: Self.describe(heartbeats), actual: "\(facts.heartbeats)",
                passes: heartbeats.contains(facts.heartbeats))
        }
        if let wanted = expect.bodyMatchesUpstream {
            let (matches, actual) = bodyComparison(facts)
            add("bodyMatchesUpstream", expected: wanted ? "identical bodies" : "different bodies", actual: actual,
                passes: matches == wanted, clientSide: false)
        }
        if let wanted = expect.inBandError {
            add("inBandError", expected: wanted ? "an in-band error event" : "no in-band error event",
                actual: facts.inBandError ? "an in-band error event" : "none", passes: facts.inBandError == wanted)
        }
        if let within = expect.upstreamSawCloseWithin {
            let actual: String
            let passes: Bool
            if !facts.clientClosed {
                actual = "the client never closed first"
                passes = false
            } else if let delay = facts.upstreamCloseDelay {
                actual = "after \(seconds(delay))"
                passes = delay <= within
            } else {
                actual = "the upstream never saw the close"
                passes = false
            }
            add("upstreamSawCloseWithin", expected: "within \(seconds(within)) (real time)", actual: actual,
                passes: passes, clientSide: false)
        }
        if let attempts = expect.attempts {
            add("attempts", expected: "\(attempts)", actual: "\(facts.attempts)", passes: facts.attempts == attempts)
        }
        if let inside = expect.heartbeatsInsideEvents {
            add("heartbeatsInsideEvents", expected: Self.describe(inside) + " heartbeat lines inside events",
                actual: "\(facts.heartbeatsInsideEvents)", passes: inside.contains(facts.heartbeatsInsideEvents))
        }
        if let requests = expect.upstreamRequests {
            add("upstreamRequests", expected: Self.describe(requests) + " requests at the upstream",
                actual: "\(facts.upstreamRequests)", passes: requests.contains(facts.upstreamRequests),
                clientSide: false)
        }
        if let early = expect.upstreamRequestsBeforeHealthy {
            add("upstreamRequestsBeforeHealthy", expected: Self.describe(early) + " before /health said 200",
                actual: "\(facts.upstreamRequestsBeforeHealthy)",
                passes: early.contains(facts.upstreamRequestsBeforeHealthy), clientSide: false)
        }
        return results
    }

    private func bodyComparison(_ facts: ReplayFacts) -> (Bool, String) {
        guard let upstream = facts.upstreamBody else { return (false, "the upstream never answered") }
        if upstream == facts.clientBody { return (true, "identical (\(upstream.count) bytes)") }
        let common = zip(upstream, facts.clientBody).prefix { $0 == $1 }.count
        return (false, "client \(facts.clientBody.count) bytes, upstream \(upstream.count), first difference at byte \(common)")
    }

    static func describe(_ range: CountExpectation) -> String {
        switch (range.min, range.max) {
        case (let low?, let high?) where low == high: "exactly \(low)"
        case (let low?, let high?): "\(low) to \(high)"
        case (let low?, nil): "at least \(low)"
        case (nil, let high?): "at most \(high)"
        case (nil, nil): "any number"
        }
    }
}
