import Foundation
import NIOCore
import Proxy
import RawHTTP
import Testing

/// `GET /metrics` through the real server, parsed by PyPI `prometheus-client`'s text parser (`ci/metrics-parse.py`,
/// which also checks HELP/TYPE lines and histogram shape), and moved by exact deltas by one streamed request with
/// heartbeats. Behind `apiKeys` like every admin endpoint.
@Suite(.serialized) struct MetricsEndpointTests {
    static let key = "metrics-key"

    @Test(.enabled("needs PyPI prometheus-client in .build/metrics-venv; see the message on stderr") {
        MetricsParser.ensureInstalled()
    })
    func metricsParseAndMoveByExactDeltas() async throws {
        let fixture = try await ProxyFixture.start(
            scenario: """
                description: a slow prefill under heartbeats, then two events
                responses:
                  - match: {path: /v1/chat/completions}
                    steps:
                      - wait: 700ms
                      - status: 200
                        headers: {Content-Type: text/event-stream}
                      - write: "data: {\\"n\\":1}\\n\\n"
                      - write: "data: [DONE]\\n\\n"
                      - end: close
                """,
            heartbeat: .milliseconds(200),
            apiKeys: [Self.key],
            metrics: .prometheus()
        )
        defer { Task { await fixture.stop() } }

        let refused = try await Self.get("/metrics", port: fixture.proxyPort, key: nil)
        #expect(refused.status == 401, "behind apiKeys")

        // A first request so every family exists, then the deltas of a second one.
        _ = try await fixture.send(headers: "Authorization: Bearer \(Self.key)\r\n").client.response()
        let before = try MetricsParser.parse(try await Self.get("/metrics", port: fixture.proxyPort, key: Self.key))
        let (client, _) = try await fixture.send(headers: "Authorization: Bearer \(Self.key)\r\n")
        let response = try await client.response()
        #expect(response.status == 200 && response.complete)
        let heartbeats = Heartbeats.scan(response.body).count
        #expect(heartbeats >= 1, "a 700 ms prefill under a 200 ms interval")
        let after = try MetricsParser.parse(try await Self.get("/metrics", port: fixture.proxyPort, key: Self.key))

        let model = ["model": "m"]
        let chat = ["model": "m", "route": "/v1/chat/completions"]
        func delta(_ name: String, _ labels: [String: String]) -> Double {
            after.value(name, labels) - before.value(name, labels)
        }
        #expect(delta("llamaproxy_requests_total", chat.merging(["status": "200"]) { $1 }) == 1)
        #expect(delta("llamaproxy_heartbeats_sent_total", model) == Double(heartbeats))
        #expect(delta("llamaproxy_heartbeats_withheld_total", model) == 0)
        #expect(delta("llamaproxy_inband_errors_total", model) == 0)
        #expect(delta("llamaproxy_response_bytes_total", model) == Double(response.body.count))
        #expect(delta("llamaproxy_request_duration_seconds_count", chat) == 1)
        #expect(delta("llamaproxy_first_byte_seconds_count", model) == 1)
        #expect(delta("llamaproxy_upstream_head_seconds_count", model) == 1)
        #expect(delta("llamaproxy_upstream_head_seconds_sum", model) >= 0.7)
        #expect(after.value("llamaproxy_requests_in_flight", model) == 0)
        #expect(delta("llamaproxy_client_gone_early_total", model) == 0)
        #expect(after.value("llamaproxy_client_gone_early_total", ["model": ""]) == 0, "Connection: close is ours")
        // The /metrics GET itself is counted, with no model, under its route.
        #expect(delta("llamaproxy_requests_total", ["model": "", "route": "/metrics", "status": "200"]) == 1)
        #expect(after.families["llamaproxy_request_duration_seconds"]?.type == "histogram")
        #expect(after.families["llamaproxy_requests_total"]?.type == "counter")
        #expect(after.families["llamaproxy_requests_in_flight"]?.type == "gauge")
        #expect(response.headers.first(name: "x-request-id")?.count == 16)
    }

    static func get(_ path: String, port: Int, key: String?) async throws -> TimedResponse {
        let client = try await RawTCPClient.connect(port: port)
        let auth = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        _ = try await client.send("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\(auth)Connection: close\r\n\r\n")
        defer { Task { await client.close() } }
        return try await client.response()
    }
}

/// `ci/metrics-parse.py` run on an exposition, in a venv under `.build` with `prometheus-client` (made on first use).
enum MetricsParser {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var python: String { root.appendingPathComponent(".build/metrics-venv/bin/python").path }

    struct Parsed {
        var families: [String: (type: String, help: String)]
        var samples: [(name: String, labels: [String: String], value: Double)]

        /// The sample's value (0 when absent: a counter not moved yet).
        func value(_ name: String, _ labels: [String: String]) -> Double {
            samples.first { $0.name == name && $0.labels == labels }?.value ?? 0
        }
    }

    /// Whether the parser can run; installs `prometheus-client` into the venv when it is missing. A pip that cannot
    /// reach PyPI is said on stderr (the test is then skipped, not passed).
    static func ensureInstalled() -> Bool {
        if run(python, ["-c", "import prometheus_client"]).status == 0 { return true }
        let venv = root.appendingPathComponent(".build/metrics-venv").path
        let made = run("/usr/bin/env", ["python3", "-m", "venv", venv])
        let pip = made.status == 0 ? run(python, ["-m", "pip", "install", "-q", "prometheus-client"]) : made
        if pip.status != 0 || run(python, ["-c", "import prometheus_client"]).status != 0 {
            FileHandle.standardError.write(
                Data("MetricsEndpointTests skipped: could not install prometheus-client: \(pip.output)\n".utf8))
            return false
        }
        return true
    }

    static func parse(_ response: TimedResponse) throws -> Parsed {
        #expect(response.status == 200)
        #expect(response.headers.first(name: "content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let result = run(python, [root.appendingPathComponent("ci/metrics-parse.py").path], input: response.body)
        guard result.status == 0,
            let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let families = json["families"] as? [String: [String: String]],
            let samples = json["samples"] as? [[Any]]
        else {
            throw ParseFailure(message: result.output + "\n" + String(decoding: response.body, as: UTF8.self))
        }
        return Parsed(
            families: families.mapValues { ($0["type"] ?? "", $0["help"] ?? "") },
            samples: samples.compactMap { sample in
                guard sample.count == 3, let name = sample[0] as? String, let labels = sample[1] as? [String: String],
                    let value = (sample[2] as? NSNumber)?.doubleValue
                else { return nil }
                return (name, labels, value)
            })
    }

    struct ParseFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { "metrics-parse.py refused the exposition: \(message)" }
    }

    /// Runs a program, stdin from `input`; stdout and stderr together.
    static func run(_ program: String, _ arguments: [String], input: [UInt8] = []) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        do { try process.run() } catch { return (-1, "\(error)") }
        stdin.fileHandleForWriting.write(Data(input))
        try? stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
