import Foundation
import LocatedYAML
import Testing

@testable import FakeUpstream

private func says(_ text: String) -> ResponseScript {
    ResponseScript(steps: [.head(ResponseHead(status: 200, framing: .contentLength(declared: nil))),
                           .write(Array(text.utf8))])
}

private func request(
    _ method: String = "POST", _ path: String = "/v1/chat/completions", model: String? = nil, stream: Bool = false,
    headers: [HeaderField] = []
) -> RequestContext {
    RequestContext(method: method, path: path, headers: headers, model: model, stream: stream)
}

/// The name of the script that answered, or what else did.
private func answer(_ book: inout RuleBook, _ request: RequestContext) -> String {
    switch book.select(for: request) {
    case .rule(_, _, let script):
        if case .write(let bytes) = script.steps.last { return String(decoding: bytes, as: UTF8.self) }
        return "?"
    case .defaults: return "defaults"
    case .unmatched: return "unmatched"
    }
}

@Suite struct RuleBookTests {
    @Test func sequencesAdvancePerMatchingRequestThenFallThrough() {
        let scenario = Scenario(name: "s", description: "d", rules: [
            ResponseRule(match: RequestMatch(path: "/v1/chat/completions"), responses: [says("one"), says("two")],
                         repeats: false),
            ResponseRule(match: RequestMatch(path: "/v1/chat/completions"), responses: [says("later")], repeats: true),
        ])
        var book = RuleBook(scenario: scenario)
        #expect(answer(&book, request()) == "one")
        #expect(answer(&book, request("GET", "/health")) == "defaults")
        #expect(answer(&book, request()) == "two")
        #expect(answer(&book, request()) == "later")
        #expect(answer(&book, request()) == "later")
    }

    @Test func exhaustedSequenceFallsToDefaultsOrStrictError() {
        let rules = [ResponseRule(responses: [says("only")], repeats: false)]
        var lenient = RuleBook(scenario: Scenario(name: "s", description: "d", rules: rules))
        #expect(answer(&lenient, request()) == "only")
        #expect(answer(&lenient, request()) == "defaults")
        var strict = RuleBook(scenario: Scenario(name: "s", description: "d", strict: true, rules: rules))
        #expect(answer(&strict, request()) == "only")
        #expect(answer(&strict, request()) == "unmatched")
    }

    @Test(arguments: [
        (RequestMatch(method: "post"), true), (RequestMatch(method: "GET"), false),
        (RequestMatch(path: "/v1/chat/completions"), true), (RequestMatch(path: "/v1/completions"), false),
        (RequestMatch(model: "m1"), true), (RequestMatch(model: "m2"), false),
        (RequestMatch(stream: true), true), (RequestMatch(stream: false), false),
        (RequestMatch(headers: [HeaderField("x-scenario", "slow")]), true),
        (RequestMatch(headers: [HeaderField("X-Scenario", "Slow")]), false),
        (RequestMatch(headers: [HeaderField("X-Other", "slow")]), false),
        (RequestMatch(method: "POST", model: "m1", stream: true, headers: [HeaderField("X-SCENARIO", "slow")]), true),
    ])
    func matchingChecksEveryGivenField(match: RequestMatch, expected: Bool) {
        let request = request(model: "m1", stream: true, headers: [HeaderField("X-Scenario", "slow")])
        #expect(RuleBook.matches(match, request) == expected)
    }

    @Test func absentModelDoesNotMatchAModelRule() {
        #expect(!RuleBook.matches(RequestMatch(model: "m"), request()))
        #expect(RuleBook.matches(RequestMatch(stream: false), request()))
    }

    @Test func strictModeNamesScenarioFileAndRequest() throws {
        var book = RuleBook(scenario: Scenario(name: "slow-prefill", file: "Scenarios/slow-prefill.yaml",
                                               description: "d", strict: true))
        guard case .unmatched(let error) = book.select(for: request(model: "tiny", stream: true)) else {
            Issue.record("expected the strict-mode error")
            return
        }
        #expect(error.type == "harness_unmatched")
        #expect(error.code == 500)
        for part in ["slow-prefill", "Scenarios/slow-prefill.yaml", "POST", "/v1/chat/completions", "tiny", "true"] {
            #expect(error.message.contains(part))
        }
    }

    @Test(arguments: ["/health", "/v1/models", "/models"])
    func healthAndModelsAreAnsweredEvenInStrictMode(path: String) {
        var book = RuleBook(scenario: Scenario(name: "s", description: "d", strict: true))
        #expect(answer(&book, request("GET", path)) == "defaults")
    }

    @Test func labelsPreferNameThenLocation() {
        let scenario = Scenario(name: "s", description: "d", rules: [
            ResponseRule(name: "named", responses: [says("a")], repeats: true),
            ResponseRule(responses: [says("b")], repeats: true,
                         location: SourceLocation(file: "x.yaml", line: 12, column: 5)),
            ResponseRule(responses: [says("c")], repeats: true),
        ])
        let book = RuleBook(scenario: scenario)
        #expect(book.label(ofRule: 0) == "named")
        #expect(book.label(ofRule: 1) == "rule #2 at x.yaml:12")
        #expect(book.label(ofRule: 2) == "rule #3")
    }
}

@Suite struct RuleBookResponderTests {
    let fast = Scenario(name: "fast", description: "d", timeScale: 0.5, rules: [
        ResponseRule(name: "fast-rule", responses: [
            ResponseScript(steps: [.wait(.seconds(2)), .head(ResponseHead(status: 200)), .write(Array("fast".utf8))]),
        ], repeats: true),
    ])
    let strict = Scenario(name: "strict", file: "strict.yaml", description: "d", strict: true)

    @Test func xScenarioHeaderChoosesTheScenarioElseTheFirst() throws {
        let responder = ScenarioResponder(scenarios: [fast, strict])
        let chosen = responder.respond(
            to: request(headers: [HeaderField("x-scenario", "strict")]), uptime: .zero
        )
        #expect(chosen.scenario == "strict")
        #expect(chosen.rule == "unmatched")
        let response = try RawResponse(chosen.plan.allBytes)
        #expect(response.statusLine == "HTTP/1.1 500 Internal Server Error")
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        #expect(error?["type"] as? String == "harness_unmatched")
        #expect((error?["message"] as? String)?.contains("strict.yaml") == true)

        let first = responder.respond(to: request(headers: [HeaderField("X-Scenario", "nope")]), uptime: .zero)
        #expect(first.scenario == "fast")
        #expect(first.rule == "fast-rule")
    }

    @Test func scenarioTimeScaleAppliesUnlessOverridden() {
        let own = ScenarioResponder(scenarios: [fast]).respond(to: request(), uptime: .zero)
        #expect(own.timeScale == 0.5)
        #expect(own.plan.actions[0].at == .seconds(1))
        let overridden = ScenarioResponder(scenarios: [fast], timeScaleOverride: 0.01)
            .respond(to: request(), uptime: .zero)
        #expect(overridden.timeScale == 0.01)
        #expect(overridden.plan.actions[0].at == .milliseconds(20))
    }

    @Test func defaultsAnswerWhatNoRuleMatches() throws {
        let responder = ScenarioResponder(scenarios: [strict])
        let health = responder.respond(to: request("GET", "/health"), uptime: .zero)
        #expect(health.rule == "default")
        #expect(try RawResponse(health.plan.allBytes).statusLine == "HTTP/1.1 200 OK")
    }

    @Test func concurrentRequestsEachGetADifferentSequenceEntry() async {
        let count = 64
        let scenario = Scenario(name: "seq", description: "d", rules: [
            ResponseRule(responses: (0..<count).map { says("r\($0)") }, repeats: false),
        ])
        let responder = ScenarioResponder(scenarios: [scenario])
        let answers = await withTaskGroup(of: String.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let plan = responder.respond(to: request(), uptime: .zero).plan
                    return String(decoding: plan.writes.dropFirst().first ?? [], as: UTF8.self)
                }
            }
            return await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(answers == Set((0..<count).map { "r\($0)" }))
    }

    @Test func sequenceStateIsSharedAcrossCalls() {
        let scenario = Scenario(name: "seq", description: "d", rules: [
            ResponseRule(responses: [says("one"), says("two")], repeats: false),
        ])
        let responder = ScenarioResponder(scenarios: [scenario])
        let texts = (0..<3).map { _ in
            String(decoding: responder.respond(to: request(), uptime: .zero).plan.writes.dropFirst().first ?? [],
                   as: UTF8.self)
        }
        #expect(texts[0] == "one")
        #expect(texts[1] == "two")
        #expect(texts[2] != "one" && texts[2] != "two")
    }
}

@Suite struct RuleBookRequestContextTests {
    @Test func modelAndStreamComeFromTheJSONBody() {
        let context = RequestContext(
            method: "POST", uri: "/v1/chat/completions?x=1", headers: [],
            body: Array(#"{"model":"m","stream":true}"#.utf8)
        )
        #expect(context.path == "/v1/chat/completions")
        #expect(context.query == "x=1")
        #expect(context.model == "m")
        #expect(context.stream)
    }

    @Test(arguments: ["", "{", "[1,2]", "null", "\u{0}\u{ff}garbage", #"{"model":5,"stream":"yes"}"#])
    func garbageBodiesLeaveModelAndStreamUnset(body: String) {
        let context = RequestContext(method: "POST", uri: "/v1/completions", headers: [], body: Array(body.utf8))
        #expect(context.model == nil)
        #expect(!context.stream)
    }

    @Test func queryCanAskForAStreamAndAModel() {
        let context = RequestContext(method: "GET", uri: "/completion?stream=true&model=a%20b", headers: [], body: [])
        #expect(context.stream)
        #expect(context.model == "a b")
    }
}
