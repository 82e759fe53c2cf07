import Foundation
import NIOCore
import RawHTTP
import TestSupport
import Testing

@testable import FakeUpstream

/// Library scenario files served for real: parser → responder → server → a raw client, at a small time scale.
@Suite struct ScenarioOverTheWireTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func scenario(_ name: String) throws -> Scenario {
        let scenarios = try ScenarioLoader.load(path: repository.appendingPathComponent("Scenarios/\(name)").path)
        return try #require(scenarios.first)
    }

    static func chatRequest(stream: Bool) -> String {
        let json = "{\"model\":\"tiny-random-llama\",\"stream\":\(stream),\"messages\":[]}"
        return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    /// Too short: a client that trusts Content-Length reads a truncated body, and the rest of the bytes are still
    /// on the connection, where they would corrupt the next response.
    @Test func contentLengthTooShortLeavesBytesOnTheConnection() async throws {
        let responder = ScenarioResponder(scenarios: [try Self.scenario("content-length-too-short.yaml")], timeScaleOverride: 0.1)
        try await withServer(responder) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            _ = try await client.send(Self.chatRequest(stream: false))
            let received = try await client.waitFor(timeout: .seconds(5), "the whole scripted body") {
                $0.text.hasSuffix("}}")
            }
            let response = try #require(TimedResponse(received))
            let declared = try #require(response.header("content-length").flatMap { Int($0) })
            #expect(response.complete)
            #expect(response.body.count == declared)
            let headEnd = try #require(received.text.range(of: "\r\n\r\n"))
            let sent = received.text[headEnd.upperBound...].utf8.count
            #expect(sent == declared + 40, "the fake sent every scripted byte")
            await client.close()
        }
    }

    /// Too long: the body ends (the fake closes) before the declared length: the client sees a truncated body.
    @Test func contentLengthTooLongEndsInATruncatedBody() async throws {
        let responder = ScenarioResponder(scenarios: [try Self.scenario("content-length-too-long.yaml")], timeScaleOverride: 0.1)
        try await withServer(responder) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            _ = try await client.send(Self.chatRequest(stream: false))
            let ending = try await client.waitForEnding()
            #expect(ending == .eof)
            let response = try #require(TimedResponse(client.snapshot))
            let declared = try #require(response.header("content-length").flatMap { Int($0) })
            #expect(!response.complete)
            #expect(response.body.count == declared - 1000)
        }
    }

    /// The default chat stream over the socket: llama-server's headers in its order, events ending in `[DONE]`,
    /// and the connection closed after the stream while `Keep-Alive` is advertised.
    @Test func defaultChatStreamLooksLikeLlamaServerOnTheWire() async throws {
        let scenario = Scenario(name: "defaults", description: "no script")
        try await withServer(ScenarioResponder(scenarios: [scenario], timeScaleOverride: 0.01)) { _, port in
            let client = try await RawTCPClient.connect(port: port)
            _ = try await client.send(Self.chatRequest(stream: true))
            #expect(try await client.waitForEnding() == .eof)
            let response = try #require(TimedResponse(client.snapshot))
            #expect(response.complete)
            #expect(response.headers.map(\.name) == [
                "Server", "Access-Control-Allow-Origin", "X-Accel-Buffering", "Content-Type", "Transfer-Encoding",
                "Keep-Alive",
            ])
            #expect(response.header("keep-alive") == "timeout=5, max=100")
            let events = response.bodyText.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.first?.contains("\"role\":\"assistant\"") == true)
            #expect(events.last == "data: [DONE]")
            #expect(events.dropLast().last?.contains("\"timings\"") == true)
        }
    }

    /// llama-server since #24013 over a real socket: the head at slot start, then `:\n\n` pings through a silent
    /// 1 s prefill, each as its own chunk, all before the first token, and each in the journal like any write.
    /// The count is exact (the plan holds nine pings and the executor never drops one); the timing bound is a
    /// lower bound only (a write never goes out before its offset), which holds on a loaded machine.
    @Test func pingsArriveDuringASilentPrefill() async throws {
        var scenario = Scenario(
            name: "pings", description: "early head, ping every 100 ms",
            rules: [ResponseRule(
                responses: [ResponseScript(steps: [
                    .tokens(TokenStream(count: 2, perSecond: 100, firstTokenAfter: .seconds(1))), .end(.close),
                ])],
                repeats: true)])
        scenario.llamaServer = LlamaServerBehaviour(headers: .early, ping: SSEPing(interval: .milliseconds(100)))
        try await withServer(ScenarioResponder(scenarios: [scenario])) { server, port in
            let client = try await RawTCPClient.connect(port: port)
            let sent = try await client.send(Self.chatRequest(stream: true))
            #expect(try await client.waitForEnding() == .eof)
            let response = try #require(TimedResponse(client.snapshot))
            #expect(response.complete)
            // Nine pings after the head and before the first token: the head went out at slot start.
            let beforeFirstToken = try #require(response.bodyText.components(separatedBy: "data: ").first)
            #expect(beforeFirstToken == String(repeating: ":\n\n", count: 9))
            // The ninth ping cannot have arrived before 900 ms: a planned write is never early.
            let pingChunk = "3\r\n:\n\n\r\n"
            var seen = "", ninthPingAt: NIODeadline?
            for read in client.snapshot.reads where ninthPingAt == nil {
                seen += String(decoding: read.bytes, as: UTF8.self)
                if seen.components(separatedBy: pingChunk).count - 1 >= 9 { ninthPingAt = read.at }
            }
            #expect(try #require(ninthPingAt) - sent >= .milliseconds(900))
            let writes = try #require(server.journal.snapshot.requests.first).writes
            #expect(writes.filter { $0.bytes.bytes == Array(pingChunk.utf8) }.map(\.scheduled)
                == (1...9).map { Int64($0) * 100_000_000 })
        }
    }
}
