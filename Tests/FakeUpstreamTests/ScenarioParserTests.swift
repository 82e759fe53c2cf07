import Foundation
import LocatedYAML
import Testing

@testable import FakeUpstream

/// Parses `yaml` as `test.yaml`, failing the test with the parser's message if it does not parse.
func parseScenario(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Scenario {
    do {
        return try ScenarioParser.parse(yaml: yaml, file: "test.yaml")
    } catch {
        Issue.record("unexpected parse error: \(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// The error text for `yaml`, or nil when it parses.
func parseError(_ yaml: String) -> String? {
    do {
        _ = try ScenarioParser.parse(yaml: yaml, file: "test.yaml")
        return nil
    } catch {
        return error.description
    }
}

/// The only response script of the first rule.
func firstSteps(_ scenario: Scenario) throws -> [Step] {
    try #require(scenario.rules.first?.responses.first).steps
}

@Suite struct ScenarioParserTests {
    @Test func topLevelFieldsAndDefaults() throws {
        let minimal = try parseScenario("description: just ready\n")
        #expect(minimal.name == "test")
        #expect(minimal.file == "test.yaml")
        #expect(minimal.description == "just ready")
        #expect(minimal.timeScale == 1)
        #expect(minimal.model == Scenario.defaultModel)
        #expect(minimal.models.isEmpty)
        #expect(!minimal.strict)
        #expect(minimal.health == .alwaysReady)
        #expect(minimal.rules.isEmpty)

        let full = try parseScenario(
            """
            description: "slow prefill: 95 s"
            timeScale: 0.01
            model: 010
            models: [yes, 1e3, other]
            strict: true
            responses: []
            """)
        #expect(full.description == "slow prefill: 95 s")
        #expect(full.timeScale == 0.01)
        #expect(full.model == "010")
        #expect(full.models == ["yes", "1e3", "other"])
        #expect(full.strict)
    }

    @Test(arguments: [
        ("Scenarios/slow-prefill.yaml", "slow-prefill"),
        ("a/b/recorded/x.yml", "x"),
        ("plain", "plain"),
        ("dir/.yaml", ".yaml"),
    ])
    func nameIsTheFileStem(file: String, stem: String) throws {
        let scenario = try ScenarioParser.parse(yaml: "description: d", file: file)
        #expect(scenario.name == stem)
        #expect(scenario.file == file)
    }

    @Test func statusStepKeepsHeaderOrderAndTakesValuesAsWritten() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - status: 200
                    reason: Fine
                    headers:
                      Zeta: "1"
                      Alpha: yes
                      X-Number: 010
                      Access-Control-Allow-Origin:
                      content-type: text/event-stream
                    framing: content-length
                    contentLength: 12
                    automaticHeaders: false
            """)
        let steps = try firstSteps(scenario)
        guard case .head(let head) = try #require(steps.first) else {
            Issue.record("expected a status step, got \(steps)")
            return
        }
        #expect(head.status == 200)
        #expect(head.reason == "Fine")
        #expect(
            head.headers == [
                HeaderField("Zeta", "1"), HeaderField("Alpha", "yes"), HeaderField("X-Number", "010"),
                HeaderField("Access-Control-Allow-Origin", ""), HeaderField("content-type", "text/event-stream"),
            ])
        #expect(head.framing == .contentLength(declared: 12))
        #expect(!head.automaticHeaders)
    }

    @Test(arguments: [
        ("{status: 204}", Framing.chunked),
        ("{status: 200, framing: chunked}", .chunked),
        ("{status: 200, framing: content-length}", .contentLength(declared: nil)),
        ("{status: 200, framing: content-length, contentLength: 0}", .contentLength(declared: 0)),
        ("{status: 200, framing: close-delimited}", .closeDelimited),
    ])
    func framing(step: String, framing: Framing) throws {
        let steps = try firstSteps(try parseScenario("description: d\nresponses: [{steps: [\(step)]}]"))
        guard case .head(let head) = try #require(steps.first) else {
            Issue.record("expected a status step")
            return
        }
        #expect(head.framing == framing)
        #expect(head.automaticHeaders)
        #expect(head.reason == nil)
    }

    @Test func bytesForms() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - write: "data: é\\r\\n"
                  - write: {hex: "e2 82 ac\\n 0a"}
                  - write: {base64: "aGVs bG8="}
                  - write: {repeat: "ab", count: 3}
                  - write: {repeat: "ab", count: 0}
                  - write: {repeat: "", count: 9223372036854775807}
                  - write: {repeat: "xyz", count: 5}
                  - write: |
                      line one
                      line two
                  - write: ''
            """)
        let writes = try firstSteps(scenario).map { step -> [UInt8]? in
            if case .write(let bytes) = step { return bytes }
            return nil
        }
        #expect(
            writes == [
                Array("data: é\r\n".utf8), [0xE2, 0x82, 0xAC, 0x0A], Array("hello".utf8), Array("ababab".utf8), [], [], Array("xyzxyzxyzxyzxyz".utf8),
                Array("line one\nline two\n".utf8), [],
            ])
    }

    @Test func largeRepeatIsBuiltExactly() throws {
        let steps = try firstSteps(
            try parseScenario("description: d\nresponses: [{steps: [{write: {repeat: a, count: 1048576}}]}]"))
        guard case .write(let bytes) = try #require(steps.first) else {
            Issue.record("expected a write")
            return
        }
        #expect(bytes.count == 1_048_576)
        #expect(bytes.allSatisfy { $0 == UInt8(ascii: "a") })
    }

    @Test func eventsWithMultiLineDataAndLineEndings() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - event:
                      data: |-
                        {"a":1}
                        {"b":2}
                      event: message
                      id: 1
                      retry: 1000
                      comment: keepalive
                      lineEnding: crlf
                  - event: {comment: "", lineEnding: cr}
                  - event: {data: {hex: "00ff"}}
            """)
        let events = try firstSteps(scenario).map { step -> SSEEvent? in
            if case .event(let event) = step { return event }
            return nil
        }
        let first = try #require(events[0])
        #expect(
            first
                == SSEEvent(
                    comment: "keepalive", event: "message", id: "1", retry: 1000,
                    data: Array("{\"a\":1}\n{\"b\":2}".utf8), lineEnding: .crlf))
        #expect(
            String(decoding: first.wireBytes, as: UTF8.self)
                == ": keepalive\r\nevent: message\r\nid: 1\r\nretry: 1000\r\ndata: {\"a\":1}\r\ndata: {\"b\":2}\r\n\r\n")
        #expect(events[1] == SSEEvent(comment: "", lineEnding: .cr))
        #expect(events[1]?.wireBytes == Array(": \r\r".utf8))
        #expect(events[2] == SSEEvent(data: [0x00, 0xFF]))
    }

    @Test func waitsAcceptSecondsAndUnits() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - wait: 95
                  - wait: 0.5
                  - wait: 500ms
                  - wait: 1m30s
                  - wait: "2m"
                  - wait: 1e3
            """)
        let waits = try firstSteps(scenario).map { step -> Duration? in
            if case .wait(let duration) = step { return duration }
            return nil
        }
        #expect(waits == [.seconds(95), .milliseconds(500), .milliseconds(500), .seconds(90), .seconds(120), .seconds(1000)])
    }

    @Test func splitWritesAndEvents() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - split: {write: "data: {\\"x\\":1}\\n\\n", at: [6, 10]}
                  - split: {write: "abcdef", at: [1, 2, 5], gap: 30s}
                  - split: {event: {data: hello}, at: [3], gaps: [250ms]}
                  - split: {write: "abcdef", at: [2, 4], gaps: [1s, 2s]}
            """)
        let splits = try firstSteps(scenario).map { step -> SplitWrite? in
            if case .split(let split) = step { return split }
            return nil
        }
        #expect(splits[0] == SplitWrite(bytes: Array("data: {\"x\":1}\n\n".utf8), offsets: [6, 10], gaps: [.zero]))
        #expect(splits[1] == SplitWrite(bytes: Array("abcdef".utf8), offsets: [1, 2, 5], gaps: [.seconds(30)]))
        #expect(splits[2] == SplitWrite(bytes: Array("data: hello\n\n".utf8), offsets: [3], gaps: [.milliseconds(250)]))
        #expect(splits[3] == SplitWrite(bytes: Array("abcdef".utf8), offsets: [2, 4], gaps: [.seconds(1), .seconds(2)]))
    }

    @Test func tokensDefaultsAndEveryOption() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps:
                  - tokens: {count: 0}
                  - tokens: {count: 100, perSecond: 20, firstTokenAfter: 2s, jitter: 0.2, seed: 7, style: native, finish: false, words: [a, yes, 1]}
            """)
        let streams = try firstSteps(scenario).map { step -> TokenStream? in
            if case .tokens(let stream) = step { return stream }
            return nil
        }
        #expect(streams[0] == TokenStream(count: 0))
        #expect(streams[0]?.perSecond == 50)
        #expect(streams[0]?.style == nil)
        #expect(streams[0]?.finish == true)
        #expect(
            streams[1]
                == TokenStream(
                    count: 100, perSecond: 20, firstTokenAfter: .seconds(2), jitter: 0.2, seed: 7, style: .native,
                    finish: false, words: ["a", "yes", "1"]))
    }

    @Test(arguments: Ending.allCases)
    func endings(ending: Ending) throws {
        let steps = try firstSteps(
            try parseScenario("description: d\nresponses: [{steps: [{gate: go}, {end: \(ending.rawValue)}]}]"))
        guard case .gate(let gate) = steps[0], case .end(let parsed) = steps[1] else {
            Issue.record("expected gate then end, got \(steps)")
            return
        }
        #expect(gate == "go")
        #expect(parsed == ending)
    }

    @Test func rulesMatchAndSequences() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - name: slow-stream
                match:
                  method: POST
                  path: /v1/chat/completions
                  model: 7b
                  stream: true
                  headers: {X-Scenario: slow, X-Other: "2"}
                steps: [{wait: 1s}]
              - match: {path: /v1/completions}
                sequence:
                  - steps: [{status: 500}]
                  - steps: [{status: 200}, {end: close}]
            """)
        #expect(scenario.rules.count == 2)
        let first = scenario.rules[0]
        #expect(first.name == "slow-stream")
        #expect(
            first.match
                == RequestMatch(
                    method: "POST", path: "/v1/chat/completions", model: "7b", stream: true,
                    headers: [HeaderField("X-Scenario", "slow"), HeaderField("X-Other", "2")]))
        #expect(first.repeats)
        #expect(first.responses.count == 1)
        #expect(first.location == SourceLocation(file: "test.yaml", line: 3, column: 5))
        let second = scenario.rules[1]
        #expect(second.name == nil)
        #expect(second.match == RequestMatch(path: "/v1/completions"))
        #expect(!second.repeats)
        #expect(second.responses.map(\.steps.count) == [1, 2])
        #expect(second.location == SourceLocation(file: "test.yaml", line: 11, column: 5))
    }

    @Test func healthScripts() throws {
        let loading = try parseScenario(
            """
            description: d
            health:
              states:
                - {status: 503, for: 60s}
                - {status: 200, body: "ok"}
            """)
        #expect(
            loading.health
                == HealthScript(states: [
                    HealthState(status: 503, duration: .seconds(60)),
                    HealthState(status: 200, body: Array("ok".utf8)),
                ]))

        let flapping = try parseScenario(
            """
            description: d
            health: {states: [{status: 200, for: 1s}, {status: 503, for: 500ms}], repeat: true}
            """)
        #expect(flapping.health.repeats)
        #expect(flapping.health.states.map(\.duration) == [.seconds(1), .milliseconds(500)])

        let never = try parseScenario("description: d\nhealth: {states: [{status: 503}]}")
        #expect(never.health == HealthScript(states: [HealthState(status: 503)]))
    }

    @Test func anchorsAndAliasesAreFollowed() throws {
        let scenario = try parseScenario(
            """
            description: d
            responses:
              - steps: &stream [{status: 200}, {tokens: {count: 3}}]
              - sequence: [{steps: *stream}]
            """)
        #expect(scenario.rules.map { $0.responses[0].steps.count } == [2, 2])
    }
}

/// `framing: raw` turns automatic headers off; asking for them with it is a mistake.
@Suite struct ScenarioParserRawFramingTests {
    @Test func rawFramingSendsOnlyTheGivenHeaders() throws {
        let steps = try firstSteps(
            try parseScenario("description: d\nresponses: [{steps: [{status: 200, framing: raw, headers: {A: b}}]}]"))
        guard case .head(let head) = try #require(steps.first) else {
            Issue.record("expected a status step")
            return
        }
        #expect(head.framing == .raw)
        #expect(!head.automaticHeaders)
        #expect(head.headers == [HeaderField("A", "b")])
    }

    @Test func rawFramingRefusesAutomaticHeaders() {
        let yaml = "description: d\nresponses: [{steps: [{status: 200, framing: raw, automaticHeaders: true}]}]"
        #expect(
            parseError(yaml)
                == "test.yaml:2:68: automaticHeaders: 'framing: raw' sends the head exactly as written; use false or "
                + "leave it out")
    }
}
