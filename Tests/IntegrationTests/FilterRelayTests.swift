import FakeUpstream
import Foundation
import Logging
import Proxy
import RawHTTP
import TestSupport
import Testing

/// `useModelName` and `filters` through the real proxy (config loaded from YAML, the real supervisor and router
/// sharing one config store) to the fake upstream, whose journal holds the exact body it received: only the members
/// the filters name change, for small bodies (edited on the event loop) and large ones (on the thread pool).
@Suite(.timeLimit(.minutes(2)))
struct FilterRelayTests {
    static func config(upstreamPort: Int) throws -> ProxyConfig {
        var (config, _) = try ConfigLoader.load(
            yaml: """
                models:
                  m:
                    cmd: unused
                    proxy: http://127.0.0.1:\(upstreamPort)
                    checkEndpoint: none
                    useModelName: org/Real-Q4
                    filters:
                      stripParams: "temperature, top_k, model"
                      setParams:
                        top_p: 0.9
                        provider: {zdr: true}
                      setParamsByID:
                        "${MODEL_ID}:high":
                          chat_template_kwargs: {reasoning_effort: high}
                          top_p: 0.1
                """, file: "config.yaml", environment: [:])
        config.models["m"]?.command = nil  // the fake is already listening: nothing to start
        return config
    }

    @Test(arguments: ["m", "m:high"], [10, 60_000])
    func onlyTheFilteredMembersChange(requested: String, lines: Int) async throws {
        let prompt = String(repeating: "caf\\u00e9 \\\"temperature\\\":1 line\\n", count: lines)
        let messages = "[{\"role\":\"user\",\"content\":\"\(prompt)\",\"temperature\":1,\"top_k\":2}]"
        let body =
            "{\"zeta\":1.50E+3,\"model\":\"\(requested)\",\"temperature\":12345678901234567890.5e-3,"
            + "\"messages\":\(messages), \"top_k\" : 40,\n\"caf\\u00e9\":\"\\u00e9\",\"top_p\":1,\"stream\":true}"
        let byID = requested == "m:high"
        let expected =
            "{\"zeta\":1.50E+3,\"model\":\"org/Real-Q4\",\"messages\":\(messages),\n\"caf\\u00e9\":\"\\u00e9\","
            + "\"top_p\":\(byID ? "0.1" : "0.9"),\"stream\":true,\"provider\":{\"zdr\":true}"
            + (byID ? ",\"chat_template_kwargs\":{\"reasoning_effort\":\"high\"}" : "") + "}"

        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let scenario = try ScenarioParser.parse(yaml: HeartbeatLoadingTests.streamScenario, file: "inline.yaml")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let store = ConfigStore(try Self.config(upstreamPort: try await fake.start()))
        let supervisor = Supervisor(store: store, logger: logger)
        let proxy = ProxyServer(router: ProxyRouter(store: store, provider: supervisor), port: 0, logger: logger)
        let port = try await proxy.start()
        let client = try await RawTCPClient.connect(port: port)
        _ = try await client.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = try await client.response()
        await proxy.stop(grace: .zero)
        await supervisor.shutdown()
        try? await fake.stop()

        #expect(response.status == 200)
        let received = fake.journal.snapshot.connections.flatMap(\.requests).map(\.body.bytes)
        #expect(received.count == 1)
        let text = received.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(text == expected, "\(text.prefix(200)) … \(text.suffix(200))")
    }
}
