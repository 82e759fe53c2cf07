import Foundation
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
}
