import Testing

@testable import FakeUpstream

private func loading(_ seconds: Int, repeats: Bool = false) -> HealthScript {
    HealthScript(
        states: [HealthState(status: 503, duration: .seconds(seconds)), HealthState(status: 200)], repeats: repeats
    )
}

@Suite struct HealthScriptTests {
    @Test func alwaysReadyIsReadyAtAnyUptime() {
        for uptime in [Duration.zero, .seconds(1), .seconds(1_000_000)] {
            #expect(HealthScript.alwaysReady.state(at: uptime).status == 200)
        }
    }

    @Test(arguments: [
        (Duration.zero, 503), (.milliseconds(59_999), 503), (.seconds(60), 200), (.seconds(86_400), 200),
    ])
    func loadingThenReadyAndTheLastStateHolds(uptime: Duration, status: Int) {
        #expect(loading(60).state(at: uptime).status == status)
    }

    @Test func durationsAreScaled() {
        #expect(loading(60).state(at: .milliseconds(599), timeScale: 0.01).status == 503)
        #expect(loading(60).state(at: .milliseconds(600), timeScale: 0.01).status == 200)
    }

    @Test(arguments: [(0.5, 200), (1.5, 503), (2.5, 200), (3.5, 503), (1001.2, 503), (1000.2, 200)])
    func flappingRepeatsTheCycle(seconds: Double, status: Int) {
        let flapping = HealthScript(
            states: [HealthState(status: 200, duration: .seconds(1)), HealthState(status: 503, duration: .seconds(1))],
            repeats: true
        )
        let uptime = Duration.nanoseconds(Int64(seconds * 1e9))
        #expect(flapping.state(at: uptime).status == status)
    }

    @Test func aSingleLoadingStateIsNeverReady() {
        let never = HealthScript(states: [HealthState(status: 503)])
        #expect(never.state(at: .seconds(1_000_000)).status == 503)
    }

    @Test func aStateWithoutDurationHoldsForeverEvenWhenRepeating() {
        let script = HealthScript(
            states: [HealthState(status: 503, duration: .seconds(1)), HealthState(status: 200),
                     HealthState(status: 500, duration: .seconds(1))],
            repeats: true
        )
        #expect(script.state(at: .seconds(100)).status == 200)
    }

    @Test func noStatesMeansReady() {
        #expect(HealthScript(states: []).state(at: .seconds(5)).status == 200)
    }

    @Test func bodiesDefaultToLlamaCppsOwn() {
        #expect(HealthState(status: 200).responseBody == Array(#"{"status":"ok"}"#.utf8))
        #expect(HealthState(status: 503).responseBody
            == Array(#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#.utf8))
        #expect(HealthState(status: 503, body: Array("busy".utf8)).responseBody == Array("busy".utf8))
        #expect(String(decoding: HealthState(status: 500).responseBody, as: UTF8.self).contains("\"code\":500"))
    }

    @Test func healthEndpointFollowsTheScriptAtTheGivenUptime() throws {
        let defaults = LlamaServerDefaults(scenario: Scenario(name: "h", description: "d", health: loading(10)))
        let request = RequestContext(method: "GET", path: "/health")
        let early = try RawResponse(defaults.plan(for: request, uptime: .seconds(9)).allBytes)
        #expect(early.statusLine == "HTTP/1.1 503 Service Unavailable")
        #expect(early.body == Array(LlamaServerDefaults.loadingModelBody.utf8))
        let late = try RawResponse(defaults.plan(for: request, uptime: .seconds(10)).allBytes)
        #expect(late.statusLine == "HTTP/1.1 200 OK")
    }
}
