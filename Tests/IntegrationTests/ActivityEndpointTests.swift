import FakeUpstream
import Foundation
import Harness
import NIOCore
import Proxy
import RawHTTP
import TestSupport
import Testing

/// The activity endpoints through the real server on real sockets: a streaming request kept alive through a slow
/// model load shows every heartbeat the client received on its timeline, at its time; its capture exports as a
/// scenario file that the harness replays with the same bytes and the load's silence.
@Suite(.serialized) struct ActivityEndpointTests {
    static let key = "ui-key"
    static let scenario = """
        description: llama-server answers once the model is loaded; its last event carries timings
        responses:
          - match: {path: /v1/chat/completions}
            steps:
              - status: 200
                headers: {Content-Type: text/event-stream}
              - write: "data: {\\"choices\\":[{\\"delta\\":{\\"content\\":\\"hi\\"}}]}\\n\\n"
              - wait: 150ms
              - write: "data: {\\"choices\\":[],\\"timings\\":{\\"prompt_n\\":34,\\"predicted_n\\":12,\\"prompt_per_second\\":673.2,\\"predicted_per_second\\":120.5}}\\n\\ndata: [DONE]\\n\\n"
              - end: close
        """

    static func get(_ path: String, port: Int, key: String? = ActivityEndpointTests.key, method: String = "GET")
        async throws -> TimedResponse
    {
        let client = try await RawTCPClient.connect(port: port)
        let auth = key.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        _ = try await client.send(
            "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(auth)Content-Length: 0\r\nConnection: close\r\n\r\n")
        defer { Task { await client.close() } }
        return try await client.response()
    }

    static func json(_ response: TimedResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func aSlowLoadShowsEveryHeartbeatAndTheCaptureReplays() async throws {
        let interval = 300.0
        let fixture = try await ProxyFixture.start(
            scenario: Self.scenario, heartbeat: .milliseconds(Int(interval)), acquireDelay: .milliseconds(1500),
            apiKeys: [Self.key], metrics: .prometheus())
        defer { Task { await fixture.stop() } }

        let (client, _) = try await fixture.send(
            headers: "Authorization: Bearer \(Self.key)\r\nX-Request-Id: act-1\r\n")
        let response = try await client.response()
        await client.close()
        #expect(response.status == 200 && response.complete)
        let received = Heartbeats.scan(response.body)
        let clientTimes = Heartbeats.times(in: response)
        #expect(received.count >= 2, "a 1.5 s load under a 300 ms interval (4 or 5 heartbeats when the loop is on time)")

        #expect(try await Self.get("/api/activity", port: fixture.proxyPort, key: nil).status == 401)

        // Every heartbeat the client got is on the timeline, at the proxy's time of writing it. Nothing else reaches
        // the client during the load, so the k-th is due k intervals after the arrival (the policy's rule) and is
        // never before that (a timer fires at or after its deadline, and the write is recorded after that). How
        // late each one may be, and whether the client's reads show the same spacing, is not asserted here: on real
        // sockets both measure the machine's scheduling (beside four other builds one heartbeat was 302.5 ms late,
        // and client reads that merged two heartbeats put the spacing off by an interval); the exact times are
        // ActivityTimelineTests' job, on a driven clock.
        let timeline = try Self.json(try await Self.get("/api/activity/act-1/timeline", port: fixture.proxyPort))
        let events = timeline["events"] as? [[String: Any]] ?? []
        let heartbeats = events.filter { $0["lane"] as? String == "heartbeat" }
            .compactMap { ($0["t"] as? NSNumber)?.doubleValue }
        #expect(heartbeats.count == received.count)
        #expect(clientTimes.count == received.count)
        for (index, time) in heartbeats.enumerated() {
            #expect(time >= Double(index + 1) * interval, "never early: \(heartbeats)")
        }
        let sent = events.first { $0["label"] as? String == "request sent upstream" }
        #expect(((sent?["t"] as? NSNumber)?.doubleValue ?? 0) >= 1500, "the request goes upstream after the load")
        #expect((timeline["deadlines"] as? [[String: Any]])?.map { $0["profile"] as? String ?? "" }.contains("undici") == true)

        let rows = try Self.json(try await Self.get("/api/activity?limit=10", port: fixture.proxyPort))["requests"]
            as? [[String: Any]] ?? []
        let row = try #require(rows.first { $0["id"] as? String == "act-1" })
        #expect(row["heartbeats"] as? Int == received.count)
        #expect(row["promptTokens"] as? Int == 34 && row["completionTokens"] as? Int == 12)
        #expect((row["predictedPerSecond"] as? NSNumber)?.doubleValue == 120.5)
        #expect(row["status"] as? Int == 200 && row["inFlight"] as? Bool == false)

        // The capture, exported as a scenario file, replays through the harness with the upstream's bytes, after
        // the load's silence.
        let export = try await Self.get("/api/captures/act-1/scenario", port: fixture.proxyPort)
        #expect(export.status == 200)
        let yaml = String(decoding: export.body, as: UTF8.self)
        #expect(!yaml.contains(Self.key), "the API key is redacted")
        let replayed = try ScenarioParser.parse(yaml: yaml, file: "act-1.yaml")
        let result = try await ReplayRunner.run(replayed, options: ReplayOptions(timeScale: 1))
        #expect(result.facts.status == 200)
        #expect(String(decoding: result.facts.clientBody, as: UTF8.self) == received.body)
        #expect(result.facts.maxGap >= .milliseconds(1500), "the load's silence is in the file")

        // The same counts in /metrics, the speeds as histograms with buckets.
        let metrics = String(decoding: try await Self.get("/metrics", port: fixture.proxyPort).body, as: UTF8.self)
        #expect(metrics.contains("llamaproxy_prompt_tokens_total{model=\"m\"} 34\n"))
        #expect(metrics.contains("llamaproxy_completion_tokens_total{model=\"m\"} 12\n"))
        #expect(metrics.contains("# TYPE llamaproxy_predicted_tokens_per_second histogram"))
        #expect(metrics.contains("llamaproxy_predicted_tokens_per_second_bucket{model=\"m\",le=\"200.0\"} 1\n"))
        #expect(metrics.contains("llamaproxy_predicted_tokens_per_second_bucket{model=\"m\",le=\"100.0\"} 0\n"))
        #expect(metrics.contains("# HELP llamaproxy_prompt_tokens_per_second "))

        // Loading a model answers at once; an unknown one is a 404 envelope.
        #expect(try await Self.get("/api/models/load/m", port: fixture.proxyPort, method: "POST").status == 202)
        let unknown = try await Self.get("/api/models/load/nope", port: fixture.proxyPort, method: "POST")
        #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("\"error\""))
    }
}
