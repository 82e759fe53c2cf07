import FakeUpstream
import Testing

@testable import Harness

/// The pure parts of planning and judging a run: the automatic time scale, the run's bound, and the facts read
/// from the fake's journal (forwarding before healthy, a gate left shut).
@Suite struct ReplayPlanningTests {
    static func scenario(_ yaml: String) throws -> Scenario {
        try ScenarioParser.parse(yaml: "description: \"planning\"\n" + yaml, file: "planning.yaml")
    }

    @Test(arguments: [
        ("expect: {client: completes}\n", 0.01),
        ("proxy: {heartbeatInterval: 10s}\nexpect: {client: completes}\n", 0.08),
        // The shortest bound of any run decides: the run's 5 s beats the top level's 10 s.
        ("proxy: {heartbeatInterval: 10s}\nexpect: {client: completes}\nruns:\n  - {name: a, proxy: {heartbeatInterval: 5s}, expect: {heartbeats: 0}}\n", 0.16),
        ("expect: {gaps: {max: 15s}}\n", 0.0534),
        // A heartbeat interval of 0 is off, not a bound.
        ("proxy: {heartbeatInterval: 0}\nexpect: {client: completes}\n", 0.01),
        // Short bounds run slower than real time, at most 10 times.
        ("proxy: {heartbeatInterval: 100ms}\nexpect: {client: completes}\n", 8.0),
        ("proxy: {heartbeatInterval: 1ms}\nexpect: {client: completes}\n", 10.0),
    ])
    func theScaleMakesTheShortestBoundTake800Milliseconds(yaml: String, scale: Double) throws {
        #expect(ReplayTimeScale.automatic(for: try Self.scenario("responses: []\n" + yaml)) == scale)
    }

    @Test func theBoundOutlastsTheScriptTheClientAndTheProxy() throws {
        let scenario = try Self.scenario(
            """
            health: {states: [{status: 503, for: 60s}, {status: 200}]}
            proxy: {responseHeaderTimeout: 120s}
            responses:
              - steps: [{wait: 95s}, {split: {write: "abc", at: [1, 2], gaps: [10s, 20s]}}, {end: hang}]
              - steps: [{tokens: {count: 100, perSecond: 10, firstTokenAfter: 5s}}]
            """)
        let spec = try #require(scenario.spec)
        // Script 125 s (the longest response) + health 60 s + proxy 120 s + 30 s margin.
        #expect(RunBound.scenarioTime(scenario, spec: spec, profile: ClientProfiles.nginx) == .seconds(335))
        // openai-python: 3 attempts of 600 s and the 0.5 s + 1 s between them, beyond the script.
        #expect(RunBound.scenarioTime(scenario, spec: spec, profile: ClientProfiles.openAIPython)
            == .seconds(1800) + .milliseconds(1500) + .seconds(30))
        #expect(RunBound.scriptedLength([.wait(.seconds(1)), .gate("x"), .end(.hang)]) == .seconds(1))
    }

    static func request(
        path: String, arrival: Int64, writes: [String] = [], gates: [String] = [], rule: String? = nil,
        ended: Bool = false
    ) -> RequestRecord {
        var record = RequestRecord(
            method: path == "/health" ? "GET" : "POST", path: path, query: nil, headers: [], body: JournalBytes([]),
            arrival: arrival, scenario: "planning", rule: rule, timeScale: 1)
        record.writes = writes.map { WriteRecord(offset: 0, scheduled: 0, bytes: Array($0.utf8)) }
        record.gates = gates.map { GateRecord(name: $0, passedAt: 0) }
        if ended { record.end = EndRecord(kind: "close", offset: 1) }
        return record
    }

    static func journal(_ requests: [RequestRecord]) -> JournalSnapshot {
        var connection = ConnectionRecord(id: 1, remoteAddress: nil, acceptedAt: 0)
        connection.requests = requests
        return JournalSnapshot(connections: [connection])
    }

    @Test(arguments: [(Int64(50), 1), (150, 0)])
    func requestsBeforeTheFirstHealthy200AreCounted(arrival: Int64, early: Int) {
        let unavailable = Self.request(path: "/health", arrival: 10, writes: ["HTTP/1.1 503 Service Unavailable\r\n\r\n"])
        let healthy = Self.request(path: "/health", arrival: 100, writes: ["HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
        let chat = Self.request(path: "/v1/chat/completions", arrival: arrival)
        let journal = Self.journal([unavailable, healthy, chat])
        #expect(JournalFacts.requestsBeforeHealthy([chat], journal: journal, healthPath: "/health") == early)
    }

    @Test func neverHealthyCountsEveryRequest() {
        let chat = Self.request(path: "/v1/chat/completions", arrival: 5)
        #expect(JournalFacts.requestsBeforeHealthy([chat], journal: Self.journal([chat]), healthPath: "/health") == 1)
    }

    @Test func aGateNobodyOpenedIsNamed() throws {
        let scenario = try Self.scenario(
            """
            responses:
              - name: gated
                steps: [{gate: prefill}, {write: "a"}, {gate: resume}, {end: close}]
            """)
        let waiting = Self.request(path: "/v1/chat/completions", arrival: 1, rule: "gated")
        #expect(JournalFacts.blockedGate(requests: [waiting], scenario: scenario, opened: []) == "prefill")
        let halfway = Self.request(path: "/v1/chat/completions", arrival: 1, gates: ["prefill"], rule: "gated")
        #expect(JournalFacts.blockedGate(requests: [halfway], scenario: scenario, opened: ["prefill"]) == "resume")
        #expect(JournalFacts.blockedGate(requests: [halfway], scenario: scenario, opened: ["prefill", "resume"]) == nil)
        let done = Self.request(path: "/v1/chat/completions", arrival: 1, gates: ["prefill", "resume"], rule: "gated",
            ended: true)
        #expect(JournalFacts.blockedGate(requests: [done], scenario: scenario, opened: []) == nil)
    }
}
