import Testing

@testable import FakeUpstream

/// `llamaServer:` in a scenario file: defaults, every key, and located errors.
@Suite struct LlamaServerParserTests {
    @Test func absentMeansTheOldDefaults() throws {
        let scenario = try parseScenario("description: d\n")
        #expect(scenario.llamaServer.headers == .afterPrefill)
        #expect(scenario.llamaServer.ping == nil)
    }

    @Test func everyKey() throws {
        let scenario = try parseScenario("""
            description: d
            llamaServer:
              headers: early
              ping: {interval: 1s, bytes: ": ping\\n\\n", perRequest: true}
            """)
        #expect(scenario.llamaServer.headers == .early)
        #expect(scenario.llamaServer.ping == SSEPing(interval: .seconds(1), bytes: Array(": ping\n\n".utf8), perRequest: true))
    }

    /// `ping: {}` is llama-server's own default since b9478: `:\n\n` after 30 s of silence.
    @Test func emptyPingIsLlamaServersDefault() throws {
        let scenario = try parseScenario("description: d\nllamaServer: {ping: {}}\n")
        #expect(scenario.llamaServer.ping == SSEPing(interval: .seconds(30), bytes: Array(":\n\n".utf8), perRequest: false))
        #expect(scenario.llamaServer.headers == .afterPrefill)
    }

    @Test(arguments: [
        (
            "description: d\nllamaServer: early\n",
            "test.yaml:2:14: llamaServer: expected a mapping with keys headers, ping, got 'early'"
        ),
        (
            "description: d\nllamaServer: {headers: late}\n",
            "test.yaml:2:24: headers: expected afterPrefill or early, got 'late'"
        ),
        (
            "description: d\nllamaServer: {pnig: {}}\n",
            "test.yaml:2:15: unknown key 'pnig' in llamaServer; expected one of: headers, ping; did you mean 'ping'?"
        ),
        (
            "description: d\nllamaServer:\n  ping: {interval: 0}\n",
            "test.yaml:3:20: interval: expected a duration of at least 1ms, got '0'"
        ),
        (
            "description: d\nllamaServer:\n  ping: {interval: -1s}\n",
            "test.yaml:3:20: interval: expected a duration >= 0, got '-1s'"
        ),
        (
            "description: d\nllamaServer:\n  ping: {bytes: \"\"}\n",
            "test.yaml:3:17: bytes: expected at least one byte (llama-server writes \":\\n\\n\"), got an empty string"
        ),
        (
            "description: d\nllamaServer:\n  ping: {perRequest: yes}\n",
            "test.yaml:3:22: perRequest: expected true or false, got 'yes'"
        ),
        (
            "description: d\nllamaServer:\n  ping: {intervall: 1s}\n",
            "test.yaml:3:10: unknown key 'intervall' in ping; expected one of: interval, bytes, perRequest; did you mean 'interval'?"
        ),
    ])
    func locatedErrors(yaml: String, message: String) {
        #expect(parseError(yaml) == message)
    }
}
