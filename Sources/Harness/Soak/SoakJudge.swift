import DurationMath
import FakeUpstream
import NIOCore
import Wire

/// Judges one soak exchange with the replay's own machinery: `ReplayRunner.assemble` turns the client's reads and
/// the fake's journal into facts, and `ExpectationEvaluator` checks the run's `expect:` against them, exactly as
/// `harness replay` does. Only three things differ, all said here:
///
/// - **The model starts with the exchange**: replay's fake runs before the client sends; here the request makes
///   the proxy start the model's process (a swap), and the scenario's clock starts with that process, up to
///   `modelStart` after the client sent (measured per exchange: the fake started at most
///   `SoakHTTP.ClockedJournal.originHigh`). So `at` may be later by that much, and up to
///   ⌈`modelStart` / heartbeat interval⌉ more heartbeats may fill it (`allowingModelStart`); nothing else is
///   widened. Without a journal (never-ready) there is no allowance: the proxy's health-check timeout counts the
///   process start in.
/// - **No journal** (`journal == nil`): allowed only for a run whose `/health` never says 200 (`never-ready`): the
///   proxy stops such a model when its load fails, and its journal goes with the process. The expectations that
///   read the journal (`upstreamRequests`, `upstreamRequestsBeforeHealthy`, `bodyMatchesUpstream`) are then left
///   out; the others still catch a forwarded request, since a fake with no rule for the request would have answered
///   it with a llama-server completion instead of the 504 or in-band error the run expects. For any other run a
///   missing journal is a mismatch (its model must still run after the exchange).
/// - **Disconnect**: the client hangs up at a seeded moment inside the response. When it did (its `total` timer
///   fired), the run's `expect:` no longer applies (it describes a client that stays), and three things are checked
///   instead: what the client got is a prefix of what the upstream sent (heartbeats removed: nothing lost, changed
///   or reordered up to the hang-up); no heartbeat inside an event; and every upstream connection that carried the
///   request was closed within `closeWithin` (real time) of the hang-up (`closeCheck`, measured by the caller). When
///   the response ended before the hang-up, the run's `expect:` applies in full.
enum SoakJudge {
    /// One exchange's verdict.
    struct Verdict: Sendable {
        /// `nil` when everything held; otherwise the report (verdict line, expectations, timeline).
        var mismatch: String?
        /// The client hung up as planned (a disconnect case whose timer fired first).
        var hungUp: Bool
    }

    /// A client that hangs up is checked for the upstream's close within this, plus the replay's slack.
    static let closeWithin: Duration = .seconds(1)
    /// Real time added to `closeWithin`: what the heartbeat bounds get (a quarter of 1.6 s), not the soak's full
    /// `SoakLibrary.slack`, which would double the bound. The measure is an upper bound already (clock probe).
    static let closeSlack: Duration = .milliseconds(400)

    /// `closeWithin` plus `closeSlack`, stretched by `timingScale`: the longest hang-up-to-close that passes.
    static func closeBound(timingScale: Double) -> Duration { (closeWithin + closeSlack) * timingScale }

    /// The facts and, for a judged exchange, the verdict of `ReplayRunner.assemble`.
    static func assemble(
        _ soakCase: SoakCase, profile: ClientProfile, attempts: [ReplayAttempt], journal: JournalSnapshot?,
        origin fakeStart: NIODeadline? = nil, modelStart: Duration = .zero, bound: Duration
    ) -> ReplayResult {
        var scenario = soakCase.scenario
        let settings = scenario.spec?.proxy
        if let expect = scenario.spec?.expect {
            scenario.spec?.expect = allowingModelStart(
                expect, modelStart: modelStart, scale: soakCase.timeScale, heartbeatInterval: settings?.heartbeatInterval)
        }
        let heartbeat = (try? SSEHeartbeat(comment: settings?.heartbeatComment ?? SSEHeartbeat.defaultComment))
            ?? .keepalive
        if journal == nil, var expect = scenario.spec?.expect {
            expect.upstreamRequests = nil
            expect.upstreamRequestsBeforeHealthy = nil
            expect.bodyMatchesUpstream = nil
            scenario.spec?.expect = expect
        }
        // The journal's times count from the fake's start in another process; its estimate only places the fake's
        // writes on the timeline printed for a mismatch (no expectation of the mix reads it: see SoakLibrary).
        let origin = fakeStart ?? attempts.first?.sentAt ?? .now()
        return ReplayRunner.assemble(
            scenario: scenario,
            options: ReplayOptions(
                timeScale: soakCase.timeScale, topology: .proxied(SoakExternalProxy()), slack: SoakLibrary.slack,
                runName: soakCase.runName),
            profile: profile, heartbeat: heartbeat, proxySettings: settings, attempts: attempts,
            journal: journal ?? JournalSnapshot(), origin: origin, bound: bound)
    }

    /// `expect` widened for a model that started `modelStart` (real time) after the client sent: `at` may be that
    /// much later (never earlier), and `heartbeats` may count ⌈`modelStart` / interval⌉ more (never fewer).
    static func allowingModelStart(
        _ expect: Expectations, modelStart: Duration, scale: Double, heartbeatInterval: Duration?
    ) -> Expectations {
        guard modelStart > .zero, scale > 0 else { return expect }
        var widened = expect
        let start = modelStart / scale  // in scenario time, like every duration of `expect`
        if let at = expect.at {
            widened.at = at + start / 2
            widened.tolerance = (expect.tolerance ?? .zero) + start / 2
        }
        if let heartbeats = expect.heartbeats, let max = heartbeats.max, let interval = heartbeatInterval,
            interval > .zero
        {
            widened.heartbeats?.max = max + Int((start / interval).rounded(.up))
        }
        return widened
    }

    /// Whether `scenario`'s `/health` never answers 200, so its model's load always fails.
    static func neverHealthy(_ scenario: Scenario) -> Bool {
        !scenario.health.states.contains { $0.status == 200 }
    }

    /// The verdict of a judged exchange (or a disconnect whose response ended first).
    static func judged(_ result: ReplayResult, journalMissing: Bool, neverHealthy: Bool) -> Verdict {
        if journalMissing && !neverHealthy {
            return Verdict(
                mismatch: result.verdictLine + "\n  the model was not running after the exchange, so its journal "
                    + "could not be read\n" + result.details,
                hungUp: false)
        }
        return Verdict(mismatch: result.verdict == .pass ? nil : result.verdictLine + "\n" + result.details, hungUp: false)
    }

    /// The checks of a client that hung up (see the type's documentation); `closeCheck` is the caller's
    /// measurement of the upstream's close.
    static func hungUp(_ result: ReplayResult, closeCheck: ExpectationResult) -> Verdict {
        let facts = result.facts
        let upstream = facts.upstreamBody ?? []
        let client = facts.clientBody
        let isPrefix = client.count <= upstream.count && upstream.prefix(client.count).elementsEqual(client)
        let common = zip(upstream, client).prefix { $0 == $1 }.count
        let checks = [
            ExpectationResult(
                key: "prefix", expected: "the client's body (heartbeats removed) is a prefix of the upstream's",
                actual: isPrefix
                    ? "a prefix (\(client.count) of \(upstream.count) bytes)"
                    : "client \(client.count) bytes, upstream \(upstream.count), first difference at byte \(common)",
                status: isPrefix ? .passed : .failed),
            ExpectationResult(
                key: "heartbeatsInsideEvents", expected: "no heartbeat line inside an event",
                actual: "\(facts.heartbeatsInsideEvents)", status: facts.heartbeatsInsideEvents == 0 ? .passed : .failed),
            closeCheck,
        ]
        guard checks.contains(where: \.failed) else { return Verdict(mismatch: nil, hungUp: true) }
        var report = result
        report.expectations = checks
        let line = "FAIL \(result.scenario) (disconnect) [\(result.profile.name), scale \(result.timeScale)]: "
            + "client hung up at \(TimeText.seconds(result.outcome.at)); failed: "
            + checks.filter(\.failed).map(\.key).joined(separator: ", ")
        return Verdict(mismatch: line + "\n" + report.details, hungUp: true)
    }

    /// The upstream-close check from what the caller saw: `delay` is at most how long after the hang-up the last
    /// connection carrying the request closed (an upper bound, from the journal's close time and the clock
    /// probe), `nil` if it was still open when the caller stopped waiting; `connections` how many carried it.
    /// `timingScale` stretches both `closeWithin` and its slack (``SoakSession/timingScale``).
    static func closeCheck(delay: Duration?, connections: Int, timingScale: Double = 1) -> ExpectationResult {
        let closeWithin = closeWithin * timingScale
        let slack = closeSlack * timingScale
        let bound = closeBound(timingScale: timingScale)
        let expected = "every upstream connection with the request closed within \(TimeText.seconds(closeWithin)) "
            + "+ \(TimeText.seconds(slack)) slack of the hang-up (real time)"
        if connections == 0 {
            return ExpectationResult(
                key: "upstreamClosed", expected: expected, actual: "the request never reached the upstream",
                status: .passed)
        }
        guard let delay else {
            return ExpectationResult(
                key: "upstreamClosed", expected: expected,
                actual: "still open \(TimeText.seconds(bound)) after the hang-up", status: .failed)
        }
        return ExpectationResult(
            key: "upstreamClosed", expected: expected, actual: "closed within \(TimeText.seconds(delay))",
            status: delay <= bound ? .passed : .failed)
    }
}

/// The proxy of a soak is the `llama-proxy` child, started once by the session; this launcher only marks results
/// as proxied (what `ExpectationEvaluator` needs to check heartbeats) and is never asked to launch anything.
struct SoakExternalProxy: ProxyLauncher {
    func launch(upstreamPort: Int, scenario: Scenario) async throws -> (port: Int, stop: @Sendable () async -> Void) {
        throw SoakError("the soak's proxy is started by the soak session, not per run")
    }
}
