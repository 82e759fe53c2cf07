import FakeUpstream
import Foundation
import Logging
import Proxy
import RawHTTP
import TestSupport
import Testing

/// Bodies of a megabyte and more are scanned for `model` and `stream` on a thread pool, not the event loop
/// (`ProxyConnectionHandler.sniffOffThreshold`): the real server routes them as it routes small ones, and forwards
/// the body byte for byte.
@Suite struct LargeBodyRoutingTests {
    /// A chat body of about 2 MiB (a long prompt with escapes) between `head` and `tail`.
    static func body(_ tail: String) -> String {
        let prompt = String(repeating: "caf\\u00e9 \\\"quoted\\\" {\\\"model\\\":\\\"no\\\"} line\\n", count: 50_000)
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"\(prompt)\"}]" + tail
    }

    @Test(arguments: [
        (",\"model\":\"nope\",\"stream\":true}", 404, "not configured"),
        (",\"stream\":true}", 400, "names no model"),
        (",\"model\":\"m\",", 400, "not valid JSON"),
    ])
    func routingErrors(tail: String, status: Int, message: String) async throws {
        let body = Self.body(tail)
        #expect(body.utf8.count > 2 << 20)
        let fixture = try await ProxyFixture.start(scenario: HeartbeatLoadingTests.streamScenario, heartbeat: nil)
        defer { Task { await fixture.stop() } }
        let (client, _) = try await fixture.send(body: body)
        let response = try await client.response()
        #expect(response.status == status)
        #expect(response.bodyText.contains(message))
    }

    @Test func relayedByteForByte() async throws {
        let body = Self.body(",\"model\":\"m\",\"temperature\":12345678901234567890.5e-3,\"stream\":true}")
        let fixture = try await ProxyFixture.start(scenario: HeartbeatLoadingTests.streamScenario, heartbeat: nil)
        defer { Task { await fixture.stop() } }
        let (client, _) = try await fixture.send(body: body)
        let response = try await client.response()
        #expect(response.status == 200)
        let received = fixture.fake.journal.snapshot.connections.flatMap(\.requests).map(\.body.bytes)
        #expect(received == [Array(body.utf8)])
    }

    /// `useModelName` on a large body: the rewrite happens off the loop too, and only the `model` value's bytes change.
    @Test(arguments: [1_000, 50_000])
    func useModelNameSplicesLargeAndSmallBodies(lines: Int) async throws {
        let prompt = String(repeating: "caf\\u00e9 \\\"quoted\\\" line\\n", count: lines)
        let body = "{\"zeta\":1.50E+3,\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\(prompt)\"}],"
            + "\"big\":12345678901234567890.5e-3,\"stream\":true}"
        let scenario = try ScenarioParser.parse(yaml: HeartbeatLoadingTests.streamScenario, file: "inline.yaml")
        let logger = Logger(label: "test")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let upstream = UpstreamURL(host: "127.0.0.1", port: try await fake.start())
        let config = ProxyConfig(models: ["m": ModelConfig(id: "m", command: nil, upstream: upstream)])
        let proxy = ProxyServer(
            router: ProxyRouter(config: config, provider: RenamingProvider(upstream: upstream)), port: 0, logger: logger)
        let port = try await proxy.start()
        defer {
            Task {
                await proxy.stop(grace: .zero)
                try? await fake.stop()
            }
        }
        let client = try await RawTCPClient.connect(port: port)
        _ = try await client.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = try await client.response()
        #expect(response.status == 200)
        let received = fake.journal.snapshot.connections.flatMap(\.requests).map(\.body.bytes)
        let expected = body.replacingOccurrences(of: "\"model\":\"m\"", with: "\"model\":\"org/Real-Name\"")
        #expect(received == [Array(expected.utf8)])
    }
}

/// Leases with `useModelName` set, as the supervisor hands them out for a model that has it.
private struct RenamingProvider: UpstreamProvider {
    var upstream: UpstreamURL

    func acquire(
        model: String, progress: @escaping @Sendable (LoadingProgress) -> Void
    ) async throws(UpstreamAcquireError) -> UpstreamLease {
        UpstreamLease(modelID: model, upstream: upstream, forwardedModelName: "org/Real-Name", onRelease: {})
    }
}
