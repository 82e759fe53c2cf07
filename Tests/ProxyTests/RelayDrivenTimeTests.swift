import NIOCore
import NIOEmbedded
import Testing
import Wire

@testable import Proxy

/// The heartbeat rules asserted exactly, to the nanosecond, through the real connection handler and the real
/// ``RequestRelay`` on an `EmbeddedEventLoop` (``DrivenRelayRig``): the loop's clock is the relay's clock, and
/// nothing moves until the test advances it. Assertions are about the bytes the client received and the times the
/// proxy wrote them (``ClientWriteSpy``), never about a tolerance.
@Suite struct RelayDrivenTimeTests {
    static let intervals: [Duration] = [.milliseconds(250), .milliseconds(1500), .seconds(15)]
    static let ns = Duration.nanoseconds(1)

    static let committedHead =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache, no-transform\r\n"
        + "X-Accel-Buffering: no\r\nX-Request-Id: \(DrivenRelayRig.requestID)\r\n"
        + "transfer-encoding: chunked\r\n\r\n"  // NIO writes this one in lower case
    static let heartbeat = ": keepalive\n\n"
    /// `: keepalive\n\n` as one HTTP chunk.
    static let heartbeatChunk = "d\r\n: keepalive\n\n\r\n"

    /// When the proxy wrote each heartbeat (the committing one included).
    static func heartbeatTimes(_ rig: DrivenRelayRig) -> [Duration] {
        rig.spy.writes.filter { $0.part == .body(Array(heartbeat.utf8)) }.map(\.at)
    }

    // MARK: The first heartbeat

    /// Exactly one interval after the request arrived, not a nanosecond before: the committed head (every header)
    /// and one heartbeat. The request arrives late on the loop's clock, so the interval is measured from arrival.
    @Test(arguments: intervals)
    func firstHeartbeatExactlyOneIntervalAfterArrival(interval: Duration) throws {
        let rig = try DrivenRelayRig(heartbeat: interval)
        rig.advance(to: .seconds(7))
        try rig.sendRequest()
        #expect(try rig.upstreamRequest().hasPrefix("POST /v1/chat/completions HTTP/1.1\r\n"))
        rig.advance(to: .seconds(7) + interval - Self.ns)
        #expect(try rig.takeText() == "")
        rig.advance(to: .seconds(7) + interval)
        let text = try rig.takeText()
        #expect(text == Self.committedHead + Self.heartbeatChunk, "\(JSONText.quote(text))")
        rig.advance(to: .seconds(7) + interval * 2 - Self.ns)
        #expect(try rig.takeText() == "")
        rig.advance(to: .seconds(7) + interval * 2)
        #expect(try rig.takeText() == Self.heartbeatChunk)
    }

    // MARK: Gaps: one interval after the last byte, whoever sent it

    /// A table of upstream byte times (in tenths of the interval) and the heartbeat times the rule gives: each
    /// heartbeat exactly one interval after the last byte the client received, the upstream's or ours. A fixed
    /// ticker would send at 10, 20, 30…
    static let gapCases: [(head: Int, events: [Int], end: Int, heartbeats: [Int])] = [
        (head: 5, events: [12, 19, 40], end: 65, heartbeats: [29, 39, 50, 60]),
        (head: 9, events: [], end: 45, heartbeats: [19, 29, 39]),
        (head: 1, events: [10, 19, 28, 37], end: 46, heartbeats: []),
        (head: 2, events: [13, 21, 24, 35], end: 50, heartbeats: [12, 34, 45]),
    ]

    @Test(arguments: intervals, gapCases.indices)
    func heartbeatsComeExactlyOneIntervalAfterTheLastByte(interval: Duration, caseIndex: Int) throws {
        let table = Self.gapCases[caseIndex]
        let tenth = interval / 10
        let rig = try DrivenRelayRig(heartbeat: interval)
        try rig.sendRequest()
        rig.advance(to: tenth * table.head)
        try rig.upstreamStreamHead()
        for (index, time) in table.events.enumerated() {
            rig.advance(to: tenth * time)
            try rig.upstreamChunk("data: {\"n\":\(index)}\n\n")
        }
        rig.advance(to: tenth * table.end)
        #expect(Self.heartbeatTimes(rig) == table.heartbeats.map { tenth * $0 })
        let response = try rig.response()
        #expect(response.status == 200)
        #expect(!response.ended)
    }

    // MARK: Between events only

    /// The upstream stops inside an event for many intervals: no heartbeat; when the rest of the event arrives, the
    /// next heartbeat comes one interval later, alone (no burst of the withheld ones). Under the proxy's head (a
    /// heartbeat committed first) and under the upstream's own.
    @Test(arguments: intervals, [false, true])
    func withheldInsideAnEventWithoutABurstAfter(interval: Duration, committedFirst: Bool) throws {
        let tenth = interval / 10
        let rig = try DrivenRelayRig(heartbeat: interval)
        try rig.sendRequest()
        if committedFirst { rig.advance(to: interval) }
        let start = rig.now
        try rig.upstreamStreamHead()
        rig.advance(to: start + tenth)
        try rig.upstreamChunk("data: {\"a\":")
        rig.advance(to: start + interval * 10)
        #expect(Self.heartbeatTimes(rig) == (committedFirst ? [interval] : []))
        rig.advance(to: start + interval * 10 + tenth / 2)
        try rig.upstreamChunk("1}\n\n")
        let completedAt = rig.now
        rig.advance(to: completedAt + interval - Self.ns)
        #expect(Self.heartbeatTimes(rig) == (committedFirst ? [interval] : []), "no burst after the event")
        rig.advance(to: completedAt + interval)
        #expect(Self.heartbeatTimes(rig) == (committedFirst ? [interval] : []) + [completedAt + interval])
        #expect(try rig.response().text == (committedFirst ? Self.heartbeat : "") + "data: {\"a\":1}\n\n" + Self.heartbeat)
    }

    /// Upstream `:` pings (newer llama-server: every 1 s) pass through byte for byte and restart the interval: with
    /// an interval of 1.5 s the proxy adds nothing at all.
    @Test(arguments: [":\n\n", ": ping\r\n\r\n", ":\r\r"])
    func upstreamPingsPassThroughAndRestartTheInterval(ping: String) throws {
        let rig = try DrivenRelayRig(heartbeat: .milliseconds(1500))
        try rig.sendRequest()
        rig.advance(to: .milliseconds(10))
        try rig.upstreamStreamHead()  // early headers: slot start
        var upstreamBody = ""
        for second in 1...20 {
            rig.advance(to: .milliseconds(10) + .seconds(second))
            try rig.upstreamChunk(ping)
            upstreamBody += ping
        }
        let event = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n"
        rig.advance(by: .milliseconds(300))
        try rig.upstreamChunk(event)
        try rig.upstreamEnds()
        rig.advance(by: .seconds(10))
        #expect(Self.heartbeatTimes(rig) == [])
        let response = try rig.response()
        #expect(response.text == upstreamBody + event)
        #expect(response.ended)
    }

    // MARK: Streams that never get heartbeats, and the end

    /// A non-streaming request is never touched: no head of ours, no byte of ours, however long the upstream takes.
    @Test(arguments: intervals)
    func nonStreamingRequestIsUntouched(interval: Duration) throws {
        let rig = try DrivenRelayRig(heartbeat: interval)
        try rig.sendRequest(stream: false)
        rig.advance(to: interval * 10)
        #expect(rig.spy.writes.isEmpty)
        let json = "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}"
        try rig.upstreamWrites(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)")
        rig.advance(to: interval * 20)
        #expect(
            try rig.takeText()
                == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n"
                + "X-Request-Id: \(DrivenRelayRig.requestID)\r\n\r\n\(json)")
        #expect(rig.spy.writes.allSatisfy { $0.at == interval * 10 })
    }

    /// After the upstream's end (and the proxy's terminating chunk), nothing more is ever written.
    @Test(arguments: [false, true])
    func nothingAfterTheStreamEnded(committedFirst: Bool) throws {
        let interval = Duration.seconds(1)
        let rig = try DrivenRelayRig(heartbeat: interval)
        try rig.sendRequest()
        if committedFirst { rig.advance(to: .milliseconds(1500)) }
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: [DONE]\n\n")
        try rig.upstreamEnds()
        let endedAt = rig.now
        rig.advance(by: interval * 10)
        #expect(rig.spy.writes.last?.part == .end)
        #expect(rig.spy.writes(after: endedAt).isEmpty)
        #expect(try rig.response().ended)
        #expect(rig.leases.releases.withLockedValue { $0 } == 1)
    }

    // MARK: The client leaves

    enum LeavePoint: String, CaseIterable, Sendable {
        case waitingForTheModel, waitingForTheHead, committed, streaming
    }

    /// The client leaving closes the upstream connection in the same instant (or abandons the wait for the model),
    /// gives the model back once, and nothing is written afterwards — no heartbeat, no end.
    @Test(arguments: LeavePoint.allCases)
    func clientLeavingClosesTheUpstreamAtOnce(point: LeavePoint) throws {
        let interval = Duration.seconds(1)
        let rig = try DrivenRelayRig(heartbeat: interval, holdLeases: point == .waitingForTheModel)
        try rig.sendRequest()
        switch point {
        case .waitingForTheModel: rig.advance(to: .milliseconds(2500))
        case .waitingForTheHead: rig.advance(to: .milliseconds(500))
        case .committed: rig.advance(to: .milliseconds(1500))
        case .streaming:
            try rig.upstreamStreamHead()
            try rig.upstreamChunk("data: 1\n\n")
            rig.advance(to: .milliseconds(1700))
        }
        let leftAt = rig.now
        try rig.client.close().wait()
        if point == .waitingForTheModel {
            #expect(rig.leases.cancellations == 1)
            #expect(rig.connector.channels.isEmpty)
        } else {
            #expect(try !rig.upstream.isActive, "upstream closed in the same instant")
            #expect(rig.leases.releases.withLockedValue { $0 } == 1)
        }
        rig.advance(by: interval * 10)
        #expect(rig.spy.writes(after: leftAt).isEmpty)
        #expect(!rig.spy.writes.contains { $0.part == .end })
    }

    // MARK: Loading state

    /// `sendLoadingState`: the first loading message commits the head; messages count as bytes sent, so heartbeats
    /// come only an interval after the last of them; once the upstream answers, its events follow under our head.
    @Test(arguments: intervals)
    func loadingMessagesAndHeartbeatsShareTheSilence(interval: Duration) throws {
        let tenth = interval / 10
        let rig = try DrivenRelayRig(heartbeat: interval, sendLoadingState: true, holdLeases: true)
        try rig.sendRequest()
        rig.advance(to: tenth * 5)
        try rig.leases.progress("starting m")
        rig.advance(to: tenth * 20)
        try rig.leases.progress("waiting for health")
        rig.advance(to: tenth * 32)
        try rig.leases.grant()
        #expect(try rig.upstreamRequest().hasPrefix("POST /v1/chat/completions HTTP/1.1\r\n"))
        rig.advance(to: tenth * 38)
        try rig.upstreamStreamHead()
        try rig.upstreamChunk("data: {\"choices\":[]}\n\n")
        rig.advance(to: tenth * 50)
        try rig.upstreamEnds()
        rig.advance(to: tenth * 100)
        #expect(Self.heartbeatTimes(rig) == [tenth * 15, tenth * 30, tenth * 48])
        let kinds = rig.spy.writes.map { write -> String in
            switch write.part {
            case .head(let status): "head \(status)"
            case .body(let bytes) where bytes == Array(Self.heartbeat.utf8): "heartbeat"
            case .body(let bytes) where String(decoding: bytes, as: UTF8.self).contains("reasoning_content"): "loading"
            case .body: "body"
            case .end: "end"
            }
        }
        #expect(kinds == ["head 200", "loading", "heartbeat", "loading", "heartbeat", "body", "heartbeat", "end"])
        #expect(rig.spy.writes.first?.at == tenth * 5, "the first loading message commits the head")
        let response = try rig.response()
        #expect(response.header("Content-Type") == "text/event-stream")
        #expect(response.header("X-Accel-Buffering") == "no")
        #expect(response.ended)
    }
}
