import FakeUpstream
import Foundation
import Logging
import NIOCore
import RawHTTP
import Testing

@testable import Proxy

/// llama-swap's client-facing endpoints through the real server on loopback, with raw requests: what a browser UI,
/// a form-posting client and a `/upstream` user see on the wire (framing, headers, bodies, what reached the model).
@Suite struct EndpointServerTests {
    static let scenario = """
        description: answers any path with a small JSON body
        responses:
          - match: {path: /slots}
            steps:
              - status: 200
                headers: {Content-Type: application/json}
              - write: "{\\"slots\\":[]}"
              - end: clean
          - match: {path: /props}
            steps:
              - status: 200
                headers: {Content-Type: application/json}
              - write: "{\\"n_ctx\\":4096}"
              - end: clean
          - match: {path: /v1/audio/speech}
            steps:
              - status: 200
                headers: {Content-Type: application/json}
              - write: "{\\"spoken\\":true}"
              - end: clean
        """

    struct Rig {
        let fake: FakeUpstreamServer
        let proxy: ProxyServer
        let port: Int

        func stop() async {
            await proxy.stop(grace: .zero)
            try? await fake.stop()
        }

        /// Sends `request` on a fresh connection and waits for the whole response.
        func exchange(_ request: String) async throws -> TimedResponse {
            let client = try await RawTCPClient.connect(port: port)
            _ = try await client.send(request)
            let response = try await client.response()
            await client.close()
            return response
        }

        /// In arrival order (pooled upstream connections carry several requests each).
        var forwarded: [RequestRecord] {
            fake.journal.snapshot.connections.flatMap(\.requests).sorted { $0.arrival < $1.arrival }
        }
    }

    static func start() async throws -> Rig {
        let logger = Logger(label: "endpoints", factory: { _ in SwiftLogNoOpLogHandler() })
        let scenario = try ScenarioParser.parse(yaml: scenario, file: "inline.yaml")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let upstream = UpstreamURL(host: "127.0.0.1", port: try await fake.start())
        var model = ModelConfig(
            id: "org/tts", command: nil, upstream: upstream, aliases: [ModelAlias(id: "tts", name: "Speech")])
        model.metadata = .mapping([("voice", .string("alloy"))])
        var config = ProxyConfig(apiKeys: ["sk-1"], models: ["org/tts": model])
        config.includeAliasesInList = true
        let proxy = ProxyServer(
            router: ProxyRouter(
                config: config, provider: FixedUpstreamProvider(upstream: upstream), admin: EndpointAdmin()),
            port: 0, logger: logger)
        return Rig(fake: fake, proxy: proxy, port: try await proxy.start())
    }

    /// `org/tts` is loading; no logs.
    struct EndpointAdmin: ProxyAdmin {
        func runningModels() async -> [RunningModelSummary] {
            [RunningModelSummary(model: "org/tts", state: "starting", inFlight: 0)]
        }
        func unload(model: String?) async {}
        func recentLogLines() -> [String] { [] }
        func followLogLines() -> AsyncStream<String> { AsyncStream { $0.finish() } }
    }

    static let basic = "Authorization: Basic " + Data("user:sk-1".utf8).base64EncodedString() + "\r\n"

    @Test func preflightIsAFramed204WithoutAKey() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let response = try await rig.exchange(
            "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: p\r\nOrigin: http://ui.test\r\n"
                + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n"
        )
        #expect(response.status == 204 && response.complete && response.body.isEmpty)
        #expect(response.header("content-length") == nil)
        #expect(response.header("access-control-allow-origin") == "*")
        #expect(response.header("access-control-allow-headers") == "authorization, content-type")
        #expect(response.header("access-control-max-age") == "86400")
    }

    @Test func modelListWithBasicAuth() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let denied = try await rig.exchange("GET /v1/models HTTP/1.1\r\nHost: p\r\n\r\n")
        #expect(denied.status == 401 && denied.header("www-authenticate")?.hasPrefix("Basic") == true)
        let response = try await rig.exchange(
            "GET /v1/models HTTP/1.1\r\nHost: p\r\nOrigin: http://ui.test\r\n\(Self.basic)\r\n")
        #expect(response.status == 200 && response.complete)
        #expect(response.header("access-control-allow-origin") == "http://ui.test")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let data = try #require(list["data"] as? [[String: Any]])
        #expect(data.compactMap { $0["id"] as? String } == ["org/tts", "tts"])
        #expect(data.allSatisfy { ($0["status"] as? [String: Any])?["value"] as? String == "loaded" })
        let meta = try #require(data.first.flatMap { ($0["meta"] as? [String: Any])?["llamaswap"] as? [String: Any] })
        #expect(meta.count == 3 && meta["voice"] as? String == "alloy" && meta["type"] as? String == "model")
        #expect(meta["aliases"] as? [String] == ["tts"])
        #expect(data.last?["name"] as? String == "Speech")
    }

    @Test func upstreamIDWithSlashAndQueryModels() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let slots = try await rig.exchange(
            "GET /upstream/org/tts/slots?id=0 HTTP/1.1\r\nHost: p\r\nx-api-key: sk-1\r\n\r\n")
        #expect(slots.status == 200 && slots.bodyText == "{\"slots\":[]}")
        let redirect = try await rig.exchange("GET /upstream/org/tts HTTP/1.1\r\nHost: p\r\nx-api-key: sk-1\r\n\r\n")
        #expect(redirect.status == 301 && redirect.header("location") == "/upstream/org/tts/" && redirect.complete)
        let props = try await rig.exchange("GET /props?model=tts HTTP/1.1\r\nHost: p\r\nx-api-key: sk-1\r\n\r\n")
        #expect(props.status == 200 && props.bodyText == "{\"n_ctx\":4096}")
        let form = "model=org%2Ftts&input=hello+world"
        let speech = try await rig.exchange(
            "POST /v1/audio/speech HTTP/1.1\r\nHost: p\r\n\(Self.basic)"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)"
        )
        #expect(speech.status == 200 && speech.bodyText == "{\"spoken\":true}")
        let forwarded = rig.forwarded
        #expect(forwarded.map(\.path) == ["/slots", "/props", "/v1/audio/speech"])
        #expect(forwarded.first?.query == "id=0" && forwarded.last?.body.bytes == Array(form.utf8))
    }
}
