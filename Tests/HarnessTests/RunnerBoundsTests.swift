import FakeUpstream
import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import Harness

/// Every replay ends and says why it failed: a gate nobody opens, a client kept waiting by heartbeats, a stall
/// with heartbeats off, a file that checks nothing; verdicts are printed as runs end.
@Suite struct RunnerBoundsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func file(_ name: String) throws -> Scenario {
        let path = root.appendingPathComponent("Scenarios/\(name).yaml").path
        return try ScenarioParser.parse(yaml: try ScenarioLoader.read(path), file: "Scenarios/\(name).yaml")
    }

    static func gated(spec: ScenarioSpec) -> Scenario {
        var scenario = Scenario(
            name: "gated", description: "a gate before the head",
            rules: [ResponseRule(
                name: "gated", match: RequestMatch(path: "/v1/chat/completions"),
                responses: [ResponseScript(steps: [.gate("prefill"), .tokens(TokenStream(count: 3, perSecond: 100))])],
                repeats: true)])
        scenario.spec = spec
        return scenario
    }

    @Test func aGateNobodyOpensFailsTheRunAndEndsIt() async throws {
        let scenario = Self.gated(spec: ScenarioSpec(
            profile: .custom(CustomProfileSpec(idle: .seconds(30))), expect: Expectations(client: .timesOut)))
        let result = try await ReplayRunner.run(scenario, options: ReplayOptions(timeScale: 0.01))
        // The client's 300 ms timer ends it, long before the run's own bound (10.6 s), which would leave the client
        // `undecided`. Asserted on the outcome, not on wall time: the whole test's wall time also counts waits for a
        // thread of the 2-thread cooperative pool, which CPU-heavy suites running beside it can hold for seconds.
        #expect(result.outcome.kind == "times-out", "\(result.outcome)")
        #expect(result.verdict == .fail)
        #expect(result.problems.contains("blocked at gate prefill"), "\(result.problems)")
        #expect(result.verdictLine.contains("blocked at gate prefill"))
    }

    /// The gate opens 50 ms after the request was sent (a timer on the fake's event loop); the client's 1 s idle
    /// timer leaves 950 ms for that timer and the three tokens on a loaded machine (a 300 ms timer, with 250 ms of
    /// room, ran out while the gate was opened by a `Task.sleep` on a busy pool). A gate that never opens still
    /// fails it (`aGateNobodyOpensFailsTheRunAndEndsIt`: blocked, the client times out).
    @Test func anOpenedGateLetsTheResponseThrough() async throws {
        let scenario = Self.gated(spec: ScenarioSpec(
            profile: .custom(CustomProfileSpec(idle: .seconds(100))), expect: Expectations(client: .completes),
            openGates: [GateOpening(name: "prefill", after: .seconds(5))]))
        let result = try await ReplayRunner.run(scenario, options: ReplayOptions(timeScale: 0.01))
        #expect(result.verdict == .pass, "\(result.verdictLine)\n\(result.details)")
        // Opened 5 s (50 ms) after the request was sent: the first byte cannot come earlier.
        let first = try #require(result.timeline.clientReads.first)
        #expect(first.at >= .milliseconds(50))
    }

    /// A wedged upstream, heartbeats on and no upstream bound: nothing ends the exchange. The run stops at its
    /// bound and fails, whatever the file expects.
    /// `.timeLimit`: if the observation limit did not end the run, nothing would (the test fails at the limit).
    @Test(.timeLimit(.minutes(1))) func aClientKeptWaitingByHeartbeatsFails() async throws {
        var scenario = try Self.file("hang-forever")
        scenario.spec = ScenarioSpec(
            proxy: ProxySettingsSpec(heartbeatInterval: .seconds(1), responseHeaderTimeout: .zero),
            expect: Expectations(heartbeats: CountExpectation(min: 1)))
        let result = try await ReplayRunner.run(
            scenario,
            options: ReplayOptions(
                timeScale: 0.3, topology: .proxied(InProcessProxyLauncher()), observationLimit: .seconds(2)))
        // The 2 s limit ends it, not undici's timers (90 s here): the client is still waiting at the limit.
        #expect(result.outcome.kind == "undecided")
        #expect(result.heartbeats >= 3)
        #expect(result.verdict == .fail)
        #expect(result.problems.contains { $0.contains("still waiting") }, "\(result.problems)")
    }

    /// mid-stream-stall's own expectations, run with heartbeats off: the 45 s stall breaks `gaps.max`, and
    /// `gaps.min` and `heartbeats` fail because no heartbeat came.
    @Test func midStreamStallWithHeartbeatsOffFailsItsGapBounds() async throws {
        let scenario = try Self.file("mid-stream-stall")
        let result = try await ReplayRunner.run(
            scenario,
            options: ReplayOptions(
                timeScale: ReplayTimeScale.automatic(for: scenario), topology: .proxied(InProcessProxyLauncher()),
                proxySettings: ProxySettingsSpec(heartbeatInterval: .zero)))
        let failed = Set(result.expectations.filter(\.failed).map(\.key))
        #expect(failed == ["gaps.max", "gaps.min", "heartbeats"], "\(result.details)")
        #expect(result.verdict == .fail)
    }

    @Test func theSessionPrintsEachVerdictAsItsRunEnds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fast = """
            description: "fast"
            expect: {client: completes}
            responses: [{steps: [{tokens: {count: 3, perSecond: 100}}]}]
            """
        let slow = fast.replacingOccurrences(of: "\"fast\"", with: "\"slow\"")
            .replacingOccurrences(of: "[{tokens", with: "[{wait: 200s}, {tokens")
        let unchecked = fast.replacingOccurrences(of: "expect: {client: completes}\n", with: "")
        try slow.write(to: directory.appendingPathComponent("a-slow.yaml"), atomically: true, encoding: .utf8)
        try fast.write(to: directory.appendingPathComponent("b-fast.yaml"), atomically: true, encoding: .utf8)
        try unchecked.write(to: directory.appendingPathComponent("c-unchecked.yaml"), atomically: true, encoding: .utf8)
        let lines = NIOLockedValueBox<[(String, ContinuousClock.Instant)]>([])
        let code = await ReplaySession(paths: [directory.path], launcher: nil, jobs: 3)
            .run { line in lines.withLockedValue { $0.append((line, .now)) } }
        let end = ContinuousClock.now
        let output = lines.withLockedValue { $0 }
        #expect(code == 1)
        let fastLine = try #require(output.first { $0.0.hasPrefix("PASS b-fast") }, "\(output.map(\.0))")
        #expect(end - fastLine.1 > .seconds(1), "the fast verdict waited for the slow run (2 s)")
        #expect(output.contains { $0.0.hasPrefix("FAIL c-unchecked") && $0.0.contains("nothing checked") })
        #expect(output.last?.0 == "3 files, 3 runs: 2 pass, 1 fail, 1 unchecked (a run that checks nothing fails)")
    }
}
