import FakeUpstream
import Testing

@testable import Harness

/// The expectation evaluator on hand-made facts: scaling, tolerance and slack, skipping in direct mode.
@Suite struct SpecEvaluatorTests {
    static func facts(
        outcome: ClientOutcome = .completed(at: .seconds(1)), status: Int? = 200, maxGap: Duration = .seconds(1),
        heartbeatGaps: [Duration] = [], clientBody: [UInt8] = Array("data: x\n\n".utf8),
        upstreamBody: [UInt8]? = Array("data: x\n\n".utf8), closeDelay: Duration? = nil, clientClosed: Bool = true
    ) -> ReplayFacts {
        ReplayFacts(
            outcome: outcome, attempts: 1, status: status, maxGap: maxGap, heartbeatGaps: heartbeatGaps,
            heartbeats: heartbeatGaps.count, clientBody: clientBody, upstreamBody: upstreamBody, inBandError: false,
            upstreamCloseDelay: closeDelay, clientClosed: clientClosed)
    }

    static let direct = ExpectationEvaluator(timeScale: 0.01, slack: .milliseconds(50), proxied: false, proxySettings: nil)

    @Test(arguments: [
        (2.93, false), (2.95, true), (3.0, true), (3.06, true), (3.07, false),
    ])
    func atIsScaledAndToleranceIncludesSlack(actualSeconds: Double, passes: Bool) {
        // 300 s at 0.01 is 3 s; tolerance 1 s scales to 10 ms, plus 50 ms slack: 2.94 ... 3.06.
        let expect = Expectations(client: .timesOut, at: .seconds(300), tolerance: .seconds(1))
        let actual = Duration.milliseconds(Int64(actualSeconds * 1000))
        let results = Self.direct.evaluate(expect, facts: Self.facts(outcome: .timedOut(at: actual, rule: .headers)))
        #expect(results.map(\.key) == ["client", "at"])
        #expect(results[0].status == .passed)
        #expect((results[1].status == .passed) == passes, "\(results[1].line)")
    }

    @Test func wrongOutcomeFailsWithExpectedAndActual() {
        let results = Self.direct.evaluate(Expectations(client: .timesOut), facts: Self.facts())
        #expect(results.first?.status == .failed)
        #expect(results.first?.line.contains("expected times-out, got completes") == true)
    }

    @Test func gapsAreCheckedBothWays() {
        let proxied = ExpectationEvaluator(timeScale: 0.1, slack: .milliseconds(20), proxied: true, proxySettings: nil)
        let expect = Expectations(gaps: GapExpectation(max: .seconds(10), min: .seconds(10), tolerance: .seconds(1)))
        // Limits: max 1 s + 0.1 s + 20 ms; min 1 s - 0.12 s.
        let good = proxied.evaluate(expect, facts: Self.facts(maxGap: .milliseconds(1100), heartbeatGaps: [.milliseconds(900)]))
        #expect(good.allSatisfy { $0.status == .passed }, "\(good.map(\.line))")
        let bad = proxied.evaluate(expect, facts: Self.facts(maxGap: .milliseconds(1200), heartbeatGaps: [.milliseconds(500)]))
        #expect(bad.map(\.status) == [.failed, .failed])
    }

    @Test func clientSideExpectationsNeedTheProxyWhenItAddsBytes() {
        let settings = ProxySettingsSpec(heartbeatInterval: .seconds(10))
        let direct = ExpectationEvaluator(timeScale: 1, slack: .zero, proxied: false, proxySettings: settings)
        let expect = Expectations(
            client: .completes, status: 200, heartbeats: CountExpectation(min: 1), bodyMatchesUpstream: true,
            upstreamSawCloseWithin: .milliseconds(100))
        let results = direct.evaluate(expect, facts: Self.facts(closeDelay: .milliseconds(3)))
        let skipped = results.filter { if case .skipped = $0.status { true } else { false } }.map(\.key)
        #expect(skipped == ["client", "status", "heartbeats"])
        #expect(results.first { $0.key == "bodyMatchesUpstream" }?.status == .passed)
        #expect(results.first { $0.key == "upstreamSawCloseWithin" }?.status == .passed)
        let proxied = ExpectationEvaluator(timeScale: 1, slack: .zero, proxied: true, proxySettings: settings)
        #expect(proxied.evaluate(expect, facts: Self.facts()).contains { $0.key == "heartbeats" && $0.status == .failed })
    }

    @Test func heartbeatOffDoesNotNeedTheProxy() {
        let off = ExpectationEvaluator(
            timeScale: 1, slack: .zero, proxied: false, proxySettings: ProxySettingsSpec(heartbeatInterval: .zero))
        #expect(off.evaluate(Expectations(status: 200), facts: Self.facts()).first?.status == .passed)
    }

    @Test func bodyDifferencesSayWhere() {
        let results = Self.direct.evaluate(
            Expectations(bodyMatchesUpstream: true),
            facts: Self.facts(clientBody: Array("data: y\n\n".utf8)))
        #expect(results.first?.status == .failed)
        #expect(results.first?.actual.contains("first difference at byte 6") == true)
        let none = Self.direct.evaluate(Expectations(bodyMatchesUpstream: true), facts: Self.facts(upstreamBody: nil))
        #expect(none.first?.status == .failed)
    }

    @Test func upstreamCloseNeedsAClientClose() {
        let expect = Expectations(upstreamSawCloseWithin: .milliseconds(100))
        #expect(Self.direct.evaluate(expect, facts: Self.facts(closeDelay: .milliseconds(150))).first?.status == .failed)
        #expect(Self.direct.evaluate(expect, facts: Self.facts(closeDelay: nil)).first?.status == .failed)
        #expect(Self.direct.evaluate(expect, facts: Self.facts(closeDelay: .zero, clientClosed: false)).first?.status == .failed)
        #expect(Self.direct.evaluate(expect, facts: Self.facts(closeDelay: .milliseconds(99))).first?.status == .passed)
    }
}
