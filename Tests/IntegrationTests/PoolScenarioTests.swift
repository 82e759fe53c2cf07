import FakeUpstream
import Foundation
import NIOCore
import Proxy
import RawHTTP
import Testing

/// Connection reuse over real sockets (performance issue, item 1): many requests, several at a time, through the
/// real proxy to a fake that closes at the awkward moments of `Scenarios/pool/` — right after a complete answer
/// that advertised keep-alive, with `Connection: close`, after an error answer, after an answer delimited by the
/// close, after every stream. Every request must get its whole answer: no 502, no failure the client can see.
/// Where the fake keeps connections, the proxy must reuse them, within the advertised `max` and `timeout`.
@Suite(.serialized) struct PoolScenarioTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func yaml(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("Scenarios/pool/\(name).yaml"), encoding: .utf8)
    }

    /// `clients` concurrent clients send `each` requests one after another (a new client connection each, so the
    /// requests spread over the proxy's event loops and meet each loop's pool); returns the statuses and failures.
    static func hammer(
        _ fixture: ProxyFixture, clients: Int, each: Int, stream: @escaping @Sendable (Int) -> Bool
    ) async throws -> (statuses: [Int], failures: [String]) {
        try await withThrowingTaskGroup(of: (Int?, String?).self) { group in
            for client in 0..<clients {
                group.addTask {
                    for request in 0..<each {
                        let (raw, _) = try await fixture.send(stream: stream(client * each + request))
                        defer { raw.closeNow() }
                        let response = try await raw.response(timeout: .seconds(10))
                        guard response.complete else {
                            return (response.status, "request \(request) of client \(client): \(raw.snapshot.text)")
                        }
                        if response.status != 200 && response.status != 503 {
                            return (response.status, "request \(request) of client \(client): \(raw.snapshot.text)")
                        }
                    }
                    return (200, nil)
                }
            }
            var statuses: [Int] = []
            var failures: [String] = []
            for try await (status, failure) in group {
                if let status { statuses.append(status) }
                if let failure { failures.append(failure) }
            }
            return (statuses, failures)
        }
    }

    /// Files whose fake closes after every answer: every request succeeds, each on its own connection.
    @Test(arguments: ["keepalive-then-fin", "connection-close", "error-then-fin", "close-delimited-answer"])
    func everyRequestSucceedsWhenTheUpstreamClosesAfterItsAnswer(file: String) async throws {
        let fixture = try await ProxyFixture.start(scenario: try Self.yaml(file), heartbeat: nil)
        defer { Task { await fixture.stop() } }
        let mixed = file == "keepalive-then-fin"
        let result = try await Self.hammer(fixture, clients: 4, each: 15) { mixed && $0 % 3 == 0 }
        #expect(result.failures.isEmpty, "\(result.failures.prefix(3))")
        let connections = fixture.fake.journal.snapshot.connections.filter { !$0.requests.isEmpty }
        #expect(connections.allSatisfy { $0.requests.count == 1 }, "a closed connection never carried a second request")
        #expect(connections.count == 60)
        await fixture.stop()
    }

    /// Pipelined requests: the proxy dispatches the next one the moment the previous answer's end is written, in
    /// the same read that brought the upstream's last bytes, before the FIN that follows them has been read. The
    /// released connection must not be handed out then (the pool waits until the loop has polled the socket again).
    @Test func pipelinedRequestsNeverMeetTheFINThatFollowsAnAnswer() async throws {
        let fixture = try await ProxyFixture.start(scenario: try Self.yaml("keepalive-then-fin"), heartbeat: nil)
        defer { Task { await fixture.stop() } }
        let client = try await RawTCPClient.connect(port: fixture.proxyPort)
        defer { client.closeNow() }
        let json = "{\"model\":\"m\",\"stream\":false,\"messages\":[]}"
        let request =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
        _ = try await client.send(String(repeating: request, count: 20))
        let received = try await client.waitFor(timeout: .seconds(10), "20 answers or the close") { received in
            received.ending != nil || received.text.components(separatedBy: "HTTP/1.1 ").count - 1 == 20
        }
        #expect(received.text.components(separatedBy: "HTTP/1.1 200").count - 1 == 20, "\(received.text.suffix(300))")
        #expect(!received.text.contains("HTTP/1.1 502"), "\(received.text.suffix(600))")
        await fixture.stop()
    }

    /// `Keep-Alive: timeout=1, max=3`, and a fake that keeps every connection: one request, then (after the 100 ms
    /// probation that earns the upstream's trust) 7 more one after another use 3 connections (3 + 3 + 2); after
    /// 600 ms of idleness (the proxy hands out for 500 ms) the next uses a new one.
    @Test func reuseStaysWithinTheAdvertisedMaxAndTimeout() async throws {
        let fixture = try await ProxyFixture.start(scenario: try Self.yaml("keepalive-max-3"), heartbeat: nil)
        defer { Task { await fixture.stop() } }
        // One client connection for all requests: one event loop, one pool.
        let client = try await RawTCPClient.connect(port: fixture.proxyPort)
        defer { client.closeNow() }
        let json = "{\"model\":\"m\",\"stream\":false,\"messages\":[]}"
        let request =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(json.utf8.count)\r\n\r\n\(json)"
        var answered = 0
        func exchange() async throws {
            _ = try await client.send(request)
            answered += 1
            let expected = answered
            _ = try await client.waitFor(timeout: .seconds(10), "answer \(expected)") { received in
                received.text.components(separatedBy: "HTTP/1.1 200").count - 1 == expected
                    && received.text.hasSuffix("\"id\":\"chatcmpl-pool\"}")
            }
        }
        try await exchange()
        try await Task.sleep(for: .milliseconds(150))
        for _ in 0..<7 { try await exchange() }
        var connections = fixture.fake.journal.snapshot.connections.filter { !$0.requests.isEmpty }
        #expect(connections.map(\.requests.count) == [3, 3, 2])
        try await Task.sleep(for: .milliseconds(600))
        try await exchange()
        connections = fixture.fake.journal.snapshot.connections.filter { !$0.requests.isEmpty }
        #expect(connections.map(\.requests.count) == [3, 3, 2, 1], "the idle connection expired at 500 ms")
        await fixture.stop()
    }

    /// An answer that stops half way, and the client leaves: the next request gets a whole answer on a new
    /// connection (the first still owes the rest of its body).
    @Test func anUnfinishedAnswerIsNeverFollowedOnItsConnection() async throws {
        let fixture = try await ProxyFixture.start(scenario: try Self.yaml("unfinished-then-complete"), heartbeat: nil)
        defer { Task { await fixture.stop() } }
        let (first, _) = try await fixture.send(stream: false)
        _ = try await first.waitFor(timeout: .seconds(10), "the head of the first answer") {
            $0.text.contains("chatcmpl-pool")
        }
        first.closeNow()
        let (second, _) = try await fixture.send(stream: false)
        defer { second.closeNow() }
        let response = try await second.response()
        #expect(response.status == 200)
        #expect(response.complete)
        #expect(fixture.fake.journal.snapshot.connections.filter { !$0.requests.isEmpty }.count == 2)
        await fixture.stop()
    }
}
