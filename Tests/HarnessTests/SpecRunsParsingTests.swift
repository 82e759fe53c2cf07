@testable import FakeUpstream
import LocatedYAML
import Testing

/// `runs:`, `openGates:` and the expectation keys that came with them: parsed, inherited, located errors.
@Suite struct SpecRunsParsingTests {
    static let head = "description: \"runs test\"\nresponses: []\n"

    static func parse(_ yaml: String) throws(LocatedError) -> Scenario {
        try ScenarioParser.parse(yaml: head + yaml, file: "runs.yaml")
    }

    @Test func runsInheritWhatTheyDoNotSay() throws {
        let scenario = try Self.parse(
            """
            proxy: {heartbeatInterval: 10s, healthCheckTimeout: 30s}
            request: {path: /v1/completions}
            profile: nginx
            openGates: {prefill: 95s, resume: 140s}
            expect: {client: completes}
            runs:
              - name: heartbeat-off
                proxy: {heartbeatInterval: 0, responseHeaderTimeout: 1m}
                expect: {heartbeats: 0, heartbeatsInsideEvents: 0, upstreamRequests: {min: 1, max: 2}}
              - name: own
                profile: undici
                request: {path: /v1/chat/completions}
                openGates: {}
                expect: {upstreamRequestsBeforeHealthy: 0}
            """)
        let runs = try #require(scenario.spec?.allRuns)
        #expect(runs.map(\.name) == [nil, "heartbeat-off", "own"])
        #expect(runs.allSatisfy { $0.spec.runs.isEmpty })
        let top = runs[0].spec
        #expect(top.openGates == [GateOpening(name: "prefill", after: .seconds(95)),
            GateOpening(name: "resume", after: .seconds(140))])
        let off = runs[1].spec
        #expect(off.proxy == ProxySettingsSpec(heartbeatInterval: .zero, responseHeaderTimeout: .seconds(60),
            healthCheckTimeout: .seconds(30)))
        #expect(off.request?.path == "/v1/completions")
        #expect(off.profile == .named("nginx"))
        #expect(off.openGates == top.openGates)
        #expect(off.expect?.client == nil, "expect is never inherited")
        #expect(off.expect?.heartbeatsInsideEvents == CountExpectation(min: 0, max: 0))
        #expect(off.expect?.upstreamRequests == CountExpectation(min: 1, max: 2))
        let own = runs[2].spec
        #expect(own.profile == .named("undici"))
        #expect(own.request?.path == "/v1/chat/completions")
        #expect(own.openGates.isEmpty)
        #expect(own.proxy == top.proxy)
        #expect(own.expect?.upstreamRequestsBeforeHealthy == CountExpectation(min: 0, max: 0))
    }

    @Test func aFileWithoutRunsHasOneRun() throws {
        let runs = try #require(try Self.parse("expect: {client: completes}\n").spec?.allRuns)
        #expect(runs.count == 1)
        #expect(runs[0].name == nil)
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var line: Int
        var column: Int
        var fragment: String
        var testDescription: String { fragment }
    }

    static let badCases: [BadCase] = [
        BadCase(yaml: "runs: []\n", line: 3, column: 7, fragment: "runs"),
        BadCase(yaml: "runs:\n  - {expect: {client: completes}}\n", line: 4, column: 5, fragment: "missing key 'name'"),
        BadCase(yaml: "runs:\n  - {name: a}\n", line: 4, column: 5, fragment: "run 'a': missing key 'expect'"),
        BadCase(
            yaml: "runs:\n  - {name: a, expect: {heartbeats: 0}}\n  - {name: a, expect: {heartbeats: 0}}\n",
            line: 5, column: 5, fragment: "used twice"),
        BadCase(yaml: "runs:\n  - {name: a, exepct: {}}\n", line: 4, column: 15, fragment: "did you mean 'expect'?"),
        BadCase(yaml: "openGates: [prefill]\n", line: 3, column: 12, fragment: "a mapping of gate names"),
        BadCase(yaml: "openGates: {prefill: soon}\n", line: 3, column: 22, fragment: "prefill"),
        BadCase(yaml: "openGates: {a: 1s, a: 2s}\n", line: 3, column: 13, fragment: "duplicate key 'a'"),
        BadCase(yaml: "proxy: {healthCheckTimeout: 0s}\n", line: 3, column: 29, fragment: "a duration > 0"),
        BadCase(yaml: "proxy: {responseHeaderTimeout: -1s}\n", line: 3, column: 32, fragment: "responseHeaderTimeout"),
        BadCase(yaml: "expect: {heartbeatsInsideEvents: -1}\n", line: 3, column: 34, fragment: "heartbeatsInsideEvents"),
        BadCase(yaml: "expect: {upstreamRequests: {min: 2, max: 1}}\n", line: 3, column: 28, fragment: "'min' is larger"),
    ]

    @Test(arguments: badCases)
    func mistakesAreLocated(_ bad: BadCase) throws {
        do {
            _ = try Self.parse(bad.yaml)
            Issue.record("parsed: \(bad.yaml)")
        } catch {
            #expect(error.location.file == "runs.yaml")
            #expect(error.location.line == bad.line, "\(error)")
            #expect(error.location.column == bad.column, "\(error)")
            #expect(error.message.contains(bad.fragment), "\(error)")
        }
    }
}
