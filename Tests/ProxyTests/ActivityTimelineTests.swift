import Foundation
import Testing

@testable import Proxy

/// The live activity record of a request, on a driven clock: the real connection handler and relay
/// (``DrivenRelayRig``) feed it, and the test reads it back through the real `/api/activity` endpoints, so every
/// time asserted is the heartbeat policy's own, exactly.
@Suite struct ActivityTimelineTests {
    /// A streaming request held through a 3.5 s model load under a 1 s interval: the timeline shows the commit and
    /// the heartbeats at exactly 1, 2 and 3 s (the policy's times), the request going upstream when the load ends,
    /// the upstream's head and events, and each client profile's pending deadline after the last byte.
    @Test func aSlowLoadShowsEveryHeartbeatAtItsTime() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1), holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: .milliseconds(3500))
        try rig.leases.grant()
        rig.advance(to: .milliseconds(3800))
        try rig.upstreamStreamHead()
        try rig.upstreamChunk(LlamaServerTail.content)
        rig.advance(to: .milliseconds(4000))
        try rig.upstreamChunk(LlamaServerTail.final)
        try rig.upstreamEnds()
        let response = try rig.response()
        #expect(response.status == 200 && response.ended)

        let heartbeats = try rig.lane("heartbeat")
        #expect(heartbeats.map(\.t) == [1000, 2000, 3000])
        // The whole record in the order it was written (heartbeat marks are stored apart and put back in place).
        let all = try rig.adminJSON("/api/activity/\(DrivenRelayRig.requestID)/timeline")["events"] as? [[String: Any]] ?? []
        let order = all.map { "\($0["lane"] as? String ?? "?")@\(($0["t"] as? NSNumber)?.intValue ?? -1)" }
        #expect(
            order == [
                "request@0", "client@1000", "heartbeat@1000", "heartbeat@2000", "heartbeat@3000", "request@3500",
                "upstream@3800", "upstream@3800", "client@3800", "upstream@4000", "client@4000", "upstream@4000",
                "client@4000", "request@4000",
            ])
        #expect(heartbeats.allSatisfy { ($0.bytes ?? 0) > 0 })
        #expect(try rig.lane("client").map(\.t) == [1000, 3800, 4000, 4000], "head, two events, the end")
        #expect(try rig.lane("upstream").map(\.t) == [3800, 3800, 4000, 4000], "head, two reads, the end")
        let request = try rig.lane("request")
        #expect(request.map(\.t) == [0, 3500, 4000])
        #expect(request[1].label == "request sent upstream")
        #expect(try rig.lane("withheld").isEmpty && rig.lane("error").isEmpty)

        let timeline = try rig.adminJSON("/api/activity/\(DrivenRelayRig.requestID)/timeline")
        #expect(timeline["inFlight"] as? Bool == false)
        #expect((timeline["now"] as? NSNumber)?.doubleValue == 4000)
        let deadlines = (timeline["deadlines"] as? [[String: Any]] ?? []).map {
            ($0["profile"] as? String ?? "", ($0["t"] as? NSNumber)?.doubleValue ?? -1)
        }
        // After the last byte at 4 s: undici's and openai-node's body timer (300 s), openai-python's read timer
        // (600 s), nginx's read timer (60 s); Cloudflare's only timer (first byte) stopped at the commit.
        #expect(deadlines.map(\.0) == ["undici", "openai-python", "openai-node", "nginx"])
        #expect(deadlines.map(\.1) == [304_000, 604_000, 304_000, 64_000])

        let rows = try rig.adminJSON("/api/activity")["requests"] as? [[String: Any]] ?? []
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row["id"] as? String == DrivenRelayRig.requestID)
        #expect(row["model"] as? String == DrivenRelayRig.modelID)
        #expect(row["status"] as? Int == 200)
        #expect(row["heartbeats"] as? Int == 3)
        #expect(row["withheld"] as? Int == 0)
        #expect(row["streaming"] as? Bool == true && row["inFlight"] as? Bool == false)
        #expect((row["durationMs"] as? NSNumber)?.doubleValue == 4000)
        #expect((row["ttfbMs"] as? NSNumber)?.doubleValue == 1000)
        #expect(row["promptTokens"] as? Int == 34 && row["completionTokens"] as? Int == 12)
        #expect((row["promptPerSecond"] as? NSNumber)?.doubleValue == 673.2)
        #expect((row["predictedPerSecond"] as? NSNumber)?.doubleValue == 120.5)
        #expect(row["bytesSent"] as? Int == response.body.count)
    }

    /// While the load goes on, the record is live: in flight, with the heartbeats so far and the deadlines pending
    /// now (undici's headers timer is already stopped by the committed head).
    @Test func anInFlightRequestIsLive() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1), holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: .milliseconds(2500))
        // The connection is busy with the response (a GET on it would wait behind it): the endpoints' own text.
        let live = try #require(rig.router.activity.request(id: DrivenRelayRig.requestID))
        func object(_ text: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        let timeline = try object(live.timelineJSON(now: rig.loop.now))
        #expect(timeline["inFlight"] as? Bool == true)
        #expect((timeline["now"] as? NSNumber)?.doubleValue == 2500)
        let events = timeline["events"] as? [[String: Any]] ?? []
        #expect(events.filter { $0["lane"] as? String == "heartbeat" }.compactMap { ($0["t"] as? NSNumber)?.doubleValue } == [1000, 2000])
        let rows = [try object(live.summaryJSON())]
        #expect(rows.first?["inFlight"] as? Bool == true)
        #expect(rows.first?["durationMs"] is NSNull)
        #expect(rows.first?["heartbeats"] as? Int == 2)
    }

    /// An upstream that stops inside an event: the heartbeat due then is withheld (its own lane, at its time), and
    /// the next one goes out once the event is complete.
    @Test func aWithheldHeartbeatIsOnItsLane() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1))
        try rig.sendRequest()
        rig.advance(to: .milliseconds(200))
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: {\"n\":")
        rig.advance(to: .milliseconds(1500))
        try rig.upstreamChunk("1}\n\n")
        rig.advance(to: .milliseconds(2600))
        try rig.upstreamChunk("data: [DONE]\n\n")
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        #expect(try rig.lane("withheld").map(\.t) == [1200])
        #expect(try rig.lane("heartbeat").map(\.t) == [2500])
        let row = (try rig.adminJSON("/api/activity")["requests"] as? [[String: Any]])?.first
        #expect(row?["withheld"] as? Int == 1 && row?["heartbeats"] as? Int == 1)
    }

    /// A long stream costs a bounded record: past the byte-mark limit, each lane's reads merge into its last mark
    /// (bytes summed, `end` at the last read), so every byte is still on the timeline.
    @Test func aLongStreamMergesItsLaterReads() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1))
        try rig.sendRequest()
        try rig.upstreamStreamHead()
        let event = "data: {\"n\":1}\n\n"
        for index in 1...400 {
            rig.advance(to: .milliseconds(index))
            try rig.upstreamChunk(event)
        }
        try rig.upstreamEnds()
        #expect(try rig.response().status == 200)
        let timeline = try rig.adminJSON("/api/activity/\(DrivenRelayRig.requestID)/timeline")
        let events = timeline["events"] as? [[String: Any]] ?? []
        #expect(events.count < 300)
        #expect((timeline["eventsMerged"] as? Int ?? 0) > 0)
        for lane in ["upstream", "client"] {
            let marks = events.filter { $0["lane"] as? String == lane && !($0["bytes"] is NSNull) }
            #expect(marks.compactMap { $0["bytes"] as? Int }.reduce(0, +) == 400 * event.utf8.count, "\(lane)")
            #expect((marks.last?["end"] as? NSNumber)?.doubleValue == 400, "\(lane)")
        }
    }

    /// A small answer that is not a stream writes no more marks than the record reserves for it (one allocation).
    @Test func aSmallAnswerFitsTheReservedMarks() throws {
        let rig = try DrivenRelayRig(heartbeat: .seconds(1))
        try rig.sendRequest(stream: false)
        rig.advance(to: .milliseconds(5))
        try rig.upstreamWrites("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try rig.response().ended)
        let timeline = try rig.adminJSON("/api/activity/\(DrivenRelayRig.requestID)/timeline")
        let events = timeline["events"] as? [[String: Any]] ?? []
        #expect(events.count == 9, "\(events.map { $0["label"] as? String ?? "" })")
        #expect(events.count <= LiveRequest.nonStreamingMarks)
    }

    /// Unknown ids are 404 envelopes; the endpoints accept only their methods; admin requests are not activity.
    @Test func unknownIdsAndMethods() throws {
        let rig = try DrivenRelayRig(heartbeat: nil)
        let missing = try rig.adminGet("/api/activity/nope/timeline")
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("\"error\""))
        #expect(try rig.adminGet("/api/captures/nope").status == 404)
        #expect(try rig.adminGet("/api/captures/nope/scenario").status == 404)
        #expect(try rig.adminGet("/api/models/load/m").status == 405)
        #expect((try rig.adminJSON("/api/activity")["requests"] as? [Any])?.isEmpty == true)
    }
}
