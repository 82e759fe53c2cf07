import FakeUpstream
import Foundation
import Logging
import Proxy
import RawHTTP
import SeededRandom
import TestSupport
import Testing

/// Through the real proxy (config from YAML, the real supervisor and router) to the fake upstream, whose journal holds
/// the path and body it received: multipart forms get `useModelName` in their `model` field (llama-swap's form filter;
/// small bodies edited on the event loop, large ones on the thread pool), and llama-swap's versionless `/v/…` routes
/// and audio.cpp's `/audioapi/…` reach the upstream without their prefix.
@Suite(.timeLimit(.minutes(2)))
struct FormAndVersionlessRelayTests {
    /// One request through a proxy in front of a fake that answers `200` to anything; what the fake received.
    static func relay(_ request: [UInt8]) async throws -> (status: Int?, received: [RequestRecord]) {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let scenario = try ScenarioParser.parse(
            yaml: """
                description: answers anything
                responses:
                  - match: {}
                    steps:
                      - status: 200
                        headers: {Content-Type: application/json}
                      - write: "{}"
                      - end: close
                """, file: "inline.yaml")
        let fake = FakeUpstreamServer(responder: ScenarioResponder(scenarios: [scenario]), logger: logger)
        let upstreamPort = try await fake.start()
        var (config, _) = try ConfigLoader.load(
            yaml: """
                models:
                  whisper:
                    cmd: unused
                    proxy: http://127.0.0.1:\(upstreamPort)
                    checkEndpoint: none
                    useModelName: Systran/faster-whisper-large-v3
                peers:
                  far:
                    proxy: http://127.0.0.1:\(upstreamPort)
                    models: [whisper-1]
                """, file: "config.yaml", environment: [:])
        config.models["whisper"]?.command = nil  // the fake is already listening: nothing to start
        let store = ConfigStore(config)
        let supervisor = Supervisor(store: store, logger: logger)
        let proxy = ProxyServer(router: ProxyRouter(store: store, provider: supervisor), port: 0, logger: logger)
        let port = try await proxy.start()
        let client = try await RawTCPClient.connect(port: port)
        _ = try await client.send(request)
        let response = try await client.response()
        await proxy.stop(grace: .zero)
        await supervisor.shutdown()
        try? await fake.stop()
        return (response.status, fake.journal.snapshot.connections.flatMap(\.requests))
    }

    static func form(model: String, file: [UInt8]) -> [UInt8] {
        Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
            + file
            + Array("\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n\(model)\r\n--XyZ--\r\n".utf8)
    }

    /// 1 KiB and 3 MiB of "audio" (the larger is past the size at which bodies are edited off the event loop).
    @Test(arguments: [1 << 10, 3 << 20])
    func aFormsModelFieldGetsUseModelName(fileSize: Int) async throws {
        var random = SplitMix64(seed: UInt64(fileSize))
        let file = (0..<fileSize).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let body = Self.form(model: "whisper", file: file)
        let head =
            "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
            + "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: \(body.count)\r\n\r\n"
        let (status, received) = try await Self.relay(Array(head.utf8) + body)
        #expect(status == 200)
        #expect(received.count == 1)
        let forwarded = try #require(received.first)
        #expect(forwarded.path == "/v1/audio/transcriptions")
        let expected = Self.form(model: "Systran/faster-whisper-large-v3", file: file)
        // Compared as one Bool: a failure must not print megabytes of bytes.
        let same = forwarded.body.bytes == expected
        let model = RequestSniffer.sniff(
            body: forwarded.body.bytes, contentType: "multipart/form-data; boundary=XyZ", query: nil
        ).model
        #expect(same, "\(forwarded.body.bytes.count) bytes with model \(model ?? "none"), expected \(expected.count)")
        #expect(forwarded.headers.first { $0.name.lowercased() == "content-length" }?.value == "\(expected.count)")
    }

    /// A form naming a peer model (`far/whisper-1`) reaches the peer naming the model by the peer's own id.
    @Test func aFormNamingAPeerModelGetsThePeersID() async throws {
        let body = Self.form(model: "far/whisper-1", file: Array("RIFF audio".utf8))
        let head =
            "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
            + "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: \(body.count)\r\n\r\n"
        let (status, received) = try await Self.relay(Array(head.utf8) + body)
        #expect(status == 200)
        #expect(received.first?.body.bytes == Self.form(model: "whisper-1", file: Array("RIFF audio".utf8)))
    }

    /// `/upstream/<model>/…` is a raw passthrough, as in llama-swap: no `useModelName`, no filters, no target name —
    /// for a local model, and for a peer's (`peer/model` or a bare id one peer serves), whose path goes to the peer.
    @Test(arguments: [
        ("/upstream/whisper/v1/chat/completions", "/v1/chat/completions"),
        ("/upstream/far/whisper-1/v1/chat/completions?x=1", "/v1/chat/completions?x=1"),
        ("/upstream/whisper-1/v1/embeddings", "/v1/embeddings"),
    ])
    func upstreamPathsPassBodiesThroughUnchanged(path: String, forwarded: String) async throws {
        let request = try await Self.postJSON(to: path)
        #expect(request.target == forwarded)
        #expect(request.body == Self.jsonBody)
    }

    static let jsonBody = "{\"model\":\"whisper\",\"input\":\"hi\"}"

    /// Posts ``jsonBody`` to `path` through the proxy (a 200 expected); the target (path and query) and the body the
    /// fake received.
    static func postJSON(to path: String) async throws -> (target: String, body: String?) {
        let (status, received) = try await Self.relay(
            Array(
                ("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(jsonBody.utf8.count)\r\n\r\n\(jsonBody)").utf8))
        #expect(status == 200)
        let request = try #require(received.first)
        return (request.path + (request.query.map { "?\($0)" } ?? ""), request.body.text)
    }

    @Test(arguments: [
        ("/v/chat/completions", "/chat/completions"), ("/v/embeddings?x=1", "/embeddings?x=1"),
        ("/v/messages/count_tokens", "/messages/count_tokens"), ("/audioapi/v1/tasks/run", "/v1/tasks/run"),
        ("/v1/chat/completions", "/v1/chat/completions"),
    ])
    func versionlessRoutesLoseTheirPrefix(path: String, forwarded: String) async throws {
        let request = try await Self.postJSON(to: path)
        #expect(request.target == forwarded)
        #expect(request.body == "{\"model\":\"Systran/faster-whisper-large-v3\",\"input\":\"hi\"}")
    }
}
