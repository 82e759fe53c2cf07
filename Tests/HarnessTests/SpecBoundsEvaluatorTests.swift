import FakeUpstream
import Testing

@testable import Harness

/// Bounds that can fail: slack capped at a quarter of each scaled bound and printed, `gaps.min` failing without a
/// heartbeat, and the checks that came with `runs:` (heartbeats inside events, requests at the upstream).
@Suite struct SpecBoundsEvaluatorTests {
    static func facts(
        maxGap: Duration = .milliseconds(100), heartbeatGaps: [Duration] = [], inside: Int = 0, requests: Int = 1,
        early: Int = 0
    ) -> ReplayFacts {
        ReplayFacts(
            outcome: .completed(at: .seconds(1)), attempts: 1, status: 200, maxGap: maxGap,
            heartbeatGaps: heartbeatGaps, heartbeats: heartbeatGaps.count, clientBody: [], upstreamBody: [],
            inBandError: false, upstreamCloseDelay: nil, clientClosed: true, heartbeatsInsideEvents: inside,
            upstreamRequests: requests, upstreamRequestsBeforeHealthy: early)
    }

    /// A run's slack of 400 ms is cut to a quarter of the scaled bound.
    @Test(arguments: [
        (Duration.seconds(15), 0.01, Duration.milliseconds(37.5)),  // 150 ms bound: 37.5 ms, not 400
        (.seconds(10), 0.08, .milliseconds(200)),  // 800 ms: 200 ms
        (.seconds(10), 1.0, .milliseconds(400)),  // 10 s: the run's 400 ms
    ])
    func slackIsAtMostAQuarterOfTheBound(bound: Duration, scale: Double, slack: Duration) {
        let evaluator = ExpectationEvaluator(timeScale: scale, slack: .milliseconds(400), proxied: true, proxySettings: nil)
        #expect(evaluator.slack(for: bound.scaled(by: scale)) == slack)
    }

    /// mid-stream-stall with heartbeats off at 0.01: a 450 ms stall. With today's cap, 15 s ± 2 s fails it even
    /// with 400 ms of run slack (the old rule passed it: 150 + 20 + 400 ms > 450 ms).
    @Test func gapsMaxFailsAStallWithoutHeartbeatsEvenWithLargeSlack() {
        let evaluator = ExpectationEvaluator(timeScale: 0.01, slack: .milliseconds(400), proxied: true, proxySettings: nil)
        let expect = Expectations(gaps: GapExpectation(max: .seconds(15), tolerance: .seconds(2)))
        let results = evaluator.evaluate(expect, facts: Self.facts(maxGap: .milliseconds(450)))
        #expect(results.map(\.status) == [.failed])
        // The line says which bound it used: 150 ms + 20 ms + 37.5 ms.
        #expect(results[0].line.contains("150 ms + 20 ms tolerance + 38 ms slack = 208 ms"), "\(results[0].line)")
    }

    @Test func gapsMinFailsWhenNoHeartbeatWasSent() {
        let evaluator = ExpectationEvaluator(timeScale: 0.1, slack: .milliseconds(100), proxied: true, proxySettings: nil)
        let expect = Expectations(gaps: GapExpectation(min: .seconds(10), tolerance: .seconds(1)))
        let none = evaluator.evaluate(expect, facts: Self.facts(heartbeatGaps: []))
        #expect(none.map(\.status) == [.failed])
        #expect(none[0].line.contains("got no heartbeat"))
        // 1 s - 100 ms - 100 ms (a quarter of 1 s is 250 ms; the run's 100 ms is smaller) = 800 ms.
        #expect(none[0].line.contains("= 800 ms"), "\(none[0].line)")
        let early = evaluator.evaluate(expect, facts: Self.facts(heartbeatGaps: [.milliseconds(1000), .milliseconds(790)]))
        #expect(early.map(\.status) == [.failed])
        let onTime = evaluator.evaluate(expect, facts: Self.facts(heartbeatGaps: [.milliseconds(1000), .milliseconds(810)]))
        #expect(onTime.map(\.status) == [.passed])
    }

    @Test(arguments: [(0, true), (1, false), (3, false)])
    func heartbeatsInsideEventsMustBeZero(inside: Int, passes: Bool) {
        let evaluator = ExpectationEvaluator(timeScale: 1, slack: .zero, proxied: true, proxySettings: nil)
        let results = evaluator.evaluate(
            Expectations(heartbeatsInsideEvents: CountExpectation(min: 0, max: 0)), facts: Self.facts(inside: inside))
        #expect(results.map(\.status) == [passes ? .passed : .failed])
    }

    /// Requests at the upstream are the journal's, checked even in a direct run.
    @Test(arguments: [(0, 0, true), (1, 0, false), (0, 1, false)])
    func nothingForwardedMeansNoUpstreamRequest(requests: Int, early: Int, passes: Bool) {
        let direct = ExpectationEvaluator(
            timeScale: 1, slack: .zero, proxied: false, proxySettings: ProxySettingsSpec(heartbeatInterval: .seconds(1)))
        let zero = CountExpectation(min: 0, max: 0)
        let results = direct.evaluate(
            Expectations(upstreamRequests: zero, upstreamRequestsBeforeHealthy: zero),
            facts: Self.facts(requests: requests, early: early))
        #expect(results.allSatisfy { $0.status == .passed } == passes, "\(results.map(\.line))")
        #expect(results.count == 2)
    }
}
