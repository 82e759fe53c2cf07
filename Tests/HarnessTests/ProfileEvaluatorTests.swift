import FakeUpstream
import Testing

@testable import Harness

/// The profile catalog and the pure evaluator: every timer's rule and its boundary, retries, scaling.
@Suite struct ProfileEvaluatorTests {
    typealias Read = AttemptTimeline.Read

    static func s(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    /// A response whose head completes at `head` (first byte then too), with body reads at `body`, complete at
    /// `end`.
    static func timeline(head: Double, body: [Double] = [], end: Double? = nil) -> AttemptTimeline {
        var reads = [Read(at: s(head), byteCount: 100, completesHead: true)]
        reads += body.map { Read(at: s($0), byteCount: 20, hasBody: true) }
        let last = end ?? (body.last ?? head)
        return AttemptTimeline(reads: reads, end: .complete(at: s(last)))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var profile: ClientProfile
        var timeline: AttemptTimeline
        var expected: ClientOutcome
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "undici: head at 299 s is in time", profile: ClientProfiles.undici,
             timeline: timeline(head: 299, body: [300]), expected: .completed(at: s(300))),
        Case(name: "undici: head at 301 s is too late", profile: ClientProfiles.undici,
             timeline: timeline(head: 301, body: [302]), expected: .timedOut(at: s(300), rule: .headers)),
        Case(name: "undici: 299 s between body chunks is fine", profile: ClientProfiles.undici,
             timeline: timeline(head: 10, body: [309, 608]), expected: .completed(at: s(608))),
        Case(name: "undici: 301 s between body chunks is not", profile: ClientProfiles.undici,
             timeline: timeline(head: 10, body: [20, 321]), expected: .timedOut(at: s(320), rule: .body)),
        Case(name: "undici: the body timer starts with the head", profile: ClientProfiles.undici,
             timeline: timeline(head: 10, body: [311]), expected: .timedOut(at: s(310), rule: .body)),
        Case(name: "openai-node follows undici", profile: ClientProfiles.openAINode,
             timeline: timeline(head: 301), expected: .timedOut(at: s(300), rule: .headers)),
        Case(name: "openai-python: 599 s silences pass", profile: ClientProfiles.openAIPython,
             timeline: timeline(head: 599, body: [1198]), expected: .completed(at: s(1198))),
        Case(name: "nginx: the wait for the head counts", profile: ClientProfiles.nginx,
             timeline: timeline(head: 61), expected: .timedOut(at: s(60), rule: .read)),
        Case(name: "nginx: 59 s between reads pass", profile: ClientProfiles.nginx,
             timeline: timeline(head: 59, body: [118, 177]), expected: .completed(at: s(177))),
        Case(name: "nginx: 61 s between body reads do not", profile: ClientProfiles.nginx,
             timeline: timeline(head: 1, body: [2, 63]), expected: .timedOut(at: s(62), rule: .read)),
        Case(name: "cloudflare: first byte at 99 s is in time, later silence is fine", profile: ClientProfiles.cloudflare,
             timeline: timeline(head: 99, body: [500]), expected: .completed(at: s(500))),
        Case(name: "cloudflare: first byte at 101 s is too late", profile: ClientProfiles.cloudflare,
             timeline: timeline(head: 101), expected: .timedOut(at: s(100), rule: .firstByte)),
        Case(name: "custom total", profile: ClientProfiles.custom(CustomProfileSpec(total: .seconds(30))),
             timeline: timeline(head: 1, body: [10, 20, 31]), expected: .timedOut(at: s(30), rule: .total)),
        Case(name: "custom headers and idle: idle first", profile: ClientProfiles.custom(
                CustomProfileSpec(headers: .seconds(50), idle: .seconds(20))),
             timeline: timeline(head: 25), expected: .timedOut(at: s(20), rule: .read)),
        Case(name: "no timers: waits for anything", profile: ClientProfiles.custom(CustomProfileSpec()),
             timeline: timeline(head: 5000, body: [90000]), expected: .completed(at: s(90000))),
    ]

    @Test(arguments: cases)
    func rule(_ test: Case) {
        #expect(ProfileEvaluator.evaluateOnce(test.profile, on: test.timeline) == test.expected)
    }

    @Test func aDeadlineExactlyAtAReadDoesNotFire() {
        let outcome = ProfileEvaluator.evaluateOnce(ClientProfiles.nginx, on: Self.timeline(head: 60, body: [120]))
        #expect(outcome == .completed(at: Self.s(120)))
    }

    @Test func openAIPythonRetriesTwiceAndAddsItsDelays() {
        let verdict = ProfileEvaluator.evaluate(ClientProfiles.openAIPython, on: Self.timeline(head: 700))
        #expect(verdict.attempts == 3)
        #expect(verdict.outcome == .timedOut(at: Self.s(600 + 0.5 + 600 + 1 + 600), rule: .read))
    }

    /// The deterministic side of RunnerTests.aCustomProfileRetriesAndTheUpstreamSeesEveryAttempt: a 60 s idle timer
    /// with 2 retries (no delay) on a 500 s prefill gives up at exactly 3 × 60 s = 180 s after 3 attempts, which the
    /// `at` check (180 s ± 5 s) passes and a fourth attempt, or a retry waiting out the prefill, would not.
    @Test func aCustomIdleProfileGivesUpAfterThreeTimersExactly() {
        let profile = ClientProfiles.custom(CustomProfileSpec(idle: .seconds(60), retries: 2))
        let prefill = Self.timeline(head: 500, body: (1...8).map { 500 + Double($0) / 100 })
        let verdict = ProfileEvaluator.evaluate(profile, on: prefill)
        #expect(verdict == ProfileVerdict(outcome: .timedOut(at: Self.s(180), rule: .read), attempts: 3))
        let scaled = ProfileEvaluator.evaluate(profile.scaled(by: 0.005), on: AttemptTimeline(
            reads: [], end: .observedUntil(Self.s(2.5))))
        #expect(scaled == ProfileVerdict(outcome: .timedOut(at: Self.s(0.9), rule: .read), attempts: 3))
        let evaluator = ExpectationEvaluator(timeScale: 0.005, slack: .milliseconds(200), proxied: false, proxySettings: nil)
        let expect = Expectations(client: .timesOut, at: .seconds(180), tolerance: .seconds(5), attempts: 3)
        func facts(_ outcome: ClientOutcome, attempts: Int) -> ReplayFacts {
            ReplayFacts(
                outcome: outcome, attempts: attempts, status: nil, maxGap: .zero, heartbeatGaps: [], heartbeats: 0,
                clientBody: [], upstreamBody: nil, inBandError: false, upstreamCloseDelay: nil, clientClosed: true)
        }
        let onTime = evaluator.evaluate(expect, facts: facts(scaled.outcome, attempts: scaled.attempts))
        #expect(onTime.allSatisfy { $0.status == .passed }, "\(onTime.map(\.line))")
        // Two timers (600 ms) or four (1.2 s) are outside 900 ms ± 25 ms tolerance ± 200 ms slack.
        for (at, attempts) in [(0.6, 2), (1.2, 4)] {
            let wrong = evaluator.evaluate(expect, facts: facts(.timedOut(at: Self.s(at), rule: .read), attempts: attempts))
            #expect(wrong.filter { $0.status == .failed }.map(\.key) == ["at", "attempts"])
        }
    }

    /// The deterministic side of the compare tests on real sockets, which check their verdicts only in the plain
    /// run (RunnerProxiedTests.compareShowsTheClientsTheHeartbeatSaves and theSessionsCompareTableNamesTheSavedClients):
    /// slow-prefill-11min's 660 s of silence, then 16 tokens at 40/s. Without heartbeats every profile gives up,
    /// each by its own rule; with a heartbeat every 15 s (the first commits the head) every one completes.
    @Test func anElevenMinutePrefillLosesEveryProfileUnlessHeartbeatsFillIt() {
        let tokens = (1...16).map { 660 + Double($0) / 40 }
        let silent = Self.timeline(head: 660, body: tokens)
        let beats = stride(from: 30.0, to: 660, by: 15).map { Read(at: Self.s($0), byteCount: 13, hasBody: true) }
        let filled = AttemptTimeline(
            reads: [Read(at: Self.s(15), byteCount: 160, completesHead: true, hasBody: true)] + beats
                + tokens.map { Read(at: Self.s($0), byteCount: 20, hasBody: true) },
            end: .complete(at: Self.s(tokens.last!)))
        let without: [String: ClientOutcome] = [
            "undici": .timedOut(at: Self.s(300), rule: .headers),
            "openai-python": .timedOut(at: Self.s(600 + 0.5 + 600 + 1 + 600), rule: .read),
            "openai-node": .timedOut(at: Self.s(300), rule: .headers),
            "nginx": .timedOut(at: Self.s(60), rule: .read),
            "cloudflare": .timedOut(at: Self.s(100), rule: .firstByte),
        ]
        for profile in ClientProfiles.all {
            #expect(ProfileEvaluator.evaluate(profile, on: silent).outcome == without[profile.name], "\(profile.name)")
            let with = ProfileEvaluator.evaluate(profile, on: filled)
            #expect(with == ProfileVerdict(outcome: .completed(at: Self.s(660.4)), attempts: 1), "\(profile.name)")
            let row = CompareRunner.Row(
                profile: profile, without: ProfileEvaluator.evaluate(profile, on: silent), with: with)
            #expect(row.heartbeatSavesIt, "\(profile.name)")
        }
    }

    /// The deterministic side of RunnerCompareTests.comparesEveryProfileWithAndWithoutTheHeartbeat, which checks its
    /// verdicts only in the plain run: an 80 s prefill beats nginx's 60 s and no other profile's timer.
    @Test func anEightySecondPrefillBeatsOnlyNginx() {
        let tokens = (1...8).map { 80 + Double($0) / 100 }
        let timeline = Self.timeline(head: 80, body: tokens)
        for profile in ClientProfiles.all {
            let expected: ClientOutcome = profile.name == "nginx"
                ? .timedOut(at: Self.s(60), rule: .read) : .completed(at: Self.s(80.08))
            #expect(ProfileEvaluator.evaluateOnce(profile, on: timeline) == expected, "\(profile.name)")
        }
    }

    @Test func aCompletedAttemptIsNotRetried() {
        let verdict = ProfileEvaluator.evaluate(ClientProfiles.openAIPython, on: Self.timeline(head: 5))
        #expect(verdict.attempts == 1)
        #expect(verdict.outcome == .completed(at: Self.s(5)))
    }

    @Test func closedAndUnobservedEnds() {
        let closed = AttemptTimeline(reads: [Read(at: Self.s(1), byteCount: 10, completesHead: true)],
            end: .closed(at: Self.s(2), reason: "reset"))
        #expect(ProfileEvaluator.evaluateOnce(ClientProfiles.undici, on: closed) == .failed(at: Self.s(2), reason: "reset"))
        let open = AttemptTimeline(reads: [], end: .observedUntil(Self.s(50)))
        #expect(ProfileEvaluator.evaluateOnce(ClientProfiles.undici, on: open) == .undecided(at: Self.s(50)))
        #expect(ProfileEvaluator.evaluateOnce(ClientProfiles.nginx, on: open) == .undecided(at: Self.s(50)))
        let longer = AttemptTimeline(reads: [], end: .observedUntil(Self.s(61)))
        #expect(ProfileEvaluator.evaluateOnce(ClientProfiles.nginx, on: longer) == .timedOut(at: Self.s(60), rule: .read))
    }

    @Test(arguments: [0.01, 0.5, 2.0])
    func scalingScalesEveryTimer(factor: Double) {
        let scaled = ClientProfiles.openAIPython.scaled(by: factor)
        #expect(scaled.readTimeout == Duration.seconds(600) * factor)
        #expect(scaled.retryDelay == Duration.milliseconds(500) * factor)
        let undici = ClientProfiles.undici.scaled(by: factor)
        #expect(undici.headersTimeout == Duration.seconds(300) * factor)
        #expect(undici.bodyTimeout == Duration.seconds(300) * factor)
    }

    @Test func retryDelaysDoubleUpToTheCap() {
        let profile = ClientProfiles.openAIPython
        #expect(profile.delay(beforeRetry: 1) == .milliseconds(500))
        #expect(profile.delay(beforeRetry: 2) == .seconds(1))
        #expect(profile.delay(beforeRetry: 5) == .seconds(8))
        #expect(profile.delay(beforeRetry: 9) == .seconds(8))
    }

    @Test func theCatalogHasExactlyTheNamesTheParserAccepts() {
        #expect(ClientProfiles.all.map(\.name) == ScenarioParser.Keys.profileNames)
        for profile in ClientProfiles.all {
            #expect(profile.hasTimer, "\(profile.name) has no timer")
            #expect(!profile.summary.isEmpty)
        }
    }

    @Test func resolvingChoices() {
        #expect(ClientProfiles.resolve(nil) == ClientProfiles.defaultProfile)
        #expect(ClientProfiles.resolve(.named("nginx")) == ClientProfiles.nginx)
        let custom = ClientProfiles.resolve(.custom(CustomProfileSpec(headers: .seconds(5), retries: 1)))
        #expect(custom.name == "custom")
        #expect(custom.headersTimeout == .seconds(5))
        #expect(custom.retries == 1)
    }

    @Test func theClockMovesTheReadDeadlineWithEveryRead() {
        var clock = ClientTimeoutClock(profile: ClientProfiles.nginx)
        #expect(clock.nextDeadline == .init(at: .seconds(60), rule: .read))
        clock.received(at: .seconds(10), completesHead: false, hasBody: false)
        #expect(clock.nextDeadline == .init(at: .seconds(70), rule: .read))
    }
}
