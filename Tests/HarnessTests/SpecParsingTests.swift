@testable import FakeUpstream
import Foundation
import LocatedYAML
import Testing

@testable import Harness

/// The spec keys of a scenario file: parsing, located errors, the schema, and the expectation evaluator.
@Suite struct SpecParsingTests {
    static let head = "description: \"spec test\"\nresponses: []\n"

    static func parse(_ yaml: String) throws -> Scenario {
        try ScenarioParser.parse(yaml: yaml, file: "spec.yaml")
    }

    static func error(_ yaml: String) -> LocatedError? {
        do {
            _ = try ScenarioParser.parse(yaml: yaml, file: "spec.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func aFileWithoutSpecKeysHasNoSpec() throws {
        #expect(try Self.parse(Self.head).spec == nil)
    }

    @Test func everyKeyIsRead() throws {
        let scenario = try Self.parse(
            Self.head + """
                proxy: {heartbeatInterval: 10s, heartbeatComment: hb, sendLoadingState: true}
                request:
                  method: PUT
                  path: /v1/completions?x=1
                  headers: {Authorization: Bearer secret, X-Trace: "010"}
                  body: {model: m, stream: true, n: 2, t: 0.5, s: "true", list: [1, x, null]}
                profile: {headers: 5s, idle: 2s, total: 1m, retries: 3}
                expect:
                  client: times-out
                  at: 300s
                  tolerance: 1s
                  status: 200
                  gaps: {max: 10s, min: 9s, tolerance: 500ms}
                  heartbeats: {min: 1, max: 4}
                  bodyMatchesUpstream: true
                  inBandError: false
                  upstreamSawCloseWithin: 100ms
                  attempts: 3
                """)
        let spec = try #require(scenario.spec)
        #expect(spec.proxy == ProxySettingsSpec(heartbeatInterval: .seconds(10), heartbeatComment: "hb", sendLoadingState: true))
        let request = try #require(spec.request)
        #expect(request.method == "PUT")
        #expect(request.path == "/v1/completions?x=1")
        #expect(request.headers == [HeaderField("Authorization", "Bearer secret"), HeaderField("X-Trace", "010")])
        #expect(String(decoding: request.body ?? [], as: UTF8.self)
            == #"{"model":"m","stream":true,"n":2,"t":0.5,"s":"true","list":[1,"x",null]}"#)
        #expect(spec.profile == .custom(CustomProfileSpec(headers: .seconds(5), idle: .seconds(2), total: .seconds(60), retries: 3)))
        let expect = try #require(spec.expect)
        #expect(expect.client == .timesOut)
        #expect(expect.at == .seconds(300))
        #expect(expect.tolerance == .seconds(1))
        #expect(expect.status == 200)
        #expect(expect.gaps == GapExpectation(max: .seconds(10), min: .seconds(9), tolerance: .milliseconds(500)))
        #expect(expect.heartbeats == CountExpectation(min: 1, max: 4))
        #expect(expect.bodyMatchesUpstream == true)
        #expect(expect.inBandError == false)
        #expect(expect.upstreamSawCloseWithin == .milliseconds(100))
        #expect(expect.attempts == 3)
        #expect(expect.location?.line == 11)
    }

    @Test func aBodyStringIsSentAsWritten() throws {
        let scenario = try Self.parse(Self.head + "request: {body: 'not json {'}\n")
        #expect(scenario.spec?.request?.body == Array("not json {".utf8))
        #expect(scenario.spec?.request?.method == "POST")
        #expect(scenario.spec?.request?.path == "/v1/chat/completions")
    }

    @Test(arguments: ["undici", "openai-python", "openai-node", "nginx", "cloudflare"])
    func namedProfiles(name: String) throws {
        #expect(try Self.parse(Self.head + "profile: \(name)\n").spec?.profile == .named(name))
    }

    @Test func anExactHeartbeatCount() throws {
        #expect(try Self.parse(Self.head + "expect: {heartbeats: 3}\n").spec?.expect?.heartbeats
            == CountExpectation(min: 3, max: 3))
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var line: Int
        var column: Int
        var fragment: String
        var testDescription: String { fragment }
    }

    static let badCases: [BadCase] = [
        BadCase(yaml: "expect:\n  clinet: completes\n", line: 4, column: 3, fragment: "did you mean 'client'?"),
        BadCase(yaml: "expect: {client: finishes}\n", line: 3, column: 18, fragment: "completes, times-out, fails"),
        BadCase(yaml: "expect: {at: 3s}\n", line: 3, column: 10, fragment: "at: needs 'client'"),
        BadCase(yaml: "expect: {client: completes, tolerance: 1s}\n", line: 3, column: 29, fragment: "goes with 'at'"),
        BadCase(yaml: "expect: {gaps: {max: 1s, min: 2s}}\n", line: 3, column: 16, fragment: "'min' is larger"),
        BadCase(yaml: "expect: {heartbeats: {min: 3, max: 1}}\n", line: 3, column: 22, fragment: "'min' is larger"),
        BadCase(yaml: "expect: {status: 2000}\n", line: 3, column: 18, fragment: "HTTP status"),
        BadCase(yaml: "expect: {attempts: 0}\n", line: 3, column: 20, fragment: "from 1 to 101"),
        BadCase(yaml: "profile: undic\n", line: 3, column: 10, fragment: "did you mean 'undici'?"),
        BadCase(yaml: "profile: {idle: 0s}\n", line: 3, column: 17, fragment: "a duration > 0"),
        BadCase(yaml: "profile: {retry: 2}\n", line: 3, column: 11, fragment: "unknown key 'retry' in profile"),
        BadCase(yaml: "proxy: {heartbeatInterval: -1s}\n", line: 3, column: 28, fragment: "heartbeatInterval"),
        BadCase(yaml: "proxy: {heartbeat: 10s}\n", line: 3, column: 9, fragment: "unknown key 'heartbeat' in proxy"),
        BadCase(yaml: "request: {path: v1/chat}\n", line: 3, column: 17, fragment: "starting with '/'"),
        BadCase(yaml: "request: {method: 'PO ST'}\n", line: 3, column: 19, fragment: "HTTP method"),
        BadCase(yaml: "expect: [completes]\n", line: 3, column: 9, fragment: "expect: expected a mapping"),
    ]

    @Test(arguments: badCases)
    func mistakesAreLocated(_ bad: BadCase) throws {
        let error = try #require(Self.error(Self.head + bad.yaml))
        #expect(error.location.file == "spec.yaml")
        #expect(error.location.line == bad.line)
        #expect(error.location.column == bad.column)
        #expect(error.message.contains(bad.fragment), "\(error)")
    }

    @Test(arguments: [
        ("0", true), ("-1", true), ("0.5", true), ("1e3", true), ("-2.5E-3", true),
        ("010", false), (".5", false), ("+1", false), ("1.", false), ("1e", false), ("0x10", false), ("", false),
    ])
    func jsonNumbers(text: String, isNumber: Bool) {
        #expect(ScenarioParser.isJSONNumber(text) == isNumber)
    }

    // MARK: The schema names the same keys

    static func schemaDefinition(_ name: String) throws -> [String: Any] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("Scenarios/scenario.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let definitions = try #require(schema["$defs"] as? [String: Any])
        return try #require(definitions[name] as? [String: Any])
    }

    static func keys(_ object: [String: Any]) throws -> Set<String> {
        Set(try #require(object["properties"] as? [String: Any]).keys)
    }

    @Test func theSchemaNamesTheParsersSpecKeys() throws {
        #expect(try Self.keys(Self.schemaDefinition("proxySettings")) == Set(ScenarioParser.Keys.proxy))
        #expect(try Self.keys(Self.schemaDefinition("clientRequest")) == Set(ScenarioParser.Keys.request))
        #expect(try Self.keys(Self.schemaDefinition("customProfile")) == Set(ScenarioParser.Keys.customProfile))
        let expect = try Self.schemaDefinition("expect")
        #expect(try Self.keys(expect) == Set(ScenarioParser.Keys.expect))
        let properties = try #require(expect["properties"] as? [String: Any])
        let gaps = try #require(properties["gaps"] as? [String: Any])
        #expect(try Self.keys(gaps) == Set(ScenarioParser.Keys.gaps))
        #expect(try Self.keys(Self.schemaDefinition("run")) == Set(ScenarioParser.Keys.run))
        let client = try #require(properties["client"] as? [String: Any])
        #expect(client["enum"] as? [String] == ClientOutcomeKind.allCases.map(\.rawValue))
    }
}
